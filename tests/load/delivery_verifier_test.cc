// The load generator's delivery verifier (tools/bench/load/delivery_verifier.h) must catch a lost
// message, a duplicate, an out-of-order delivery and a delivery nobody sent, and pass a clean run.
#include "tools/bench/load/delivery_verifier.h"

#include <gtest/gtest.h>

namespace im::load {
namespace {

// Two recipients (1, 2) in group channel 0 where user 0 sent seqs 1..5, and a 1:1 channel 1
// between users 3 and 4 where both sent.
DeliveryVerifier TwoChannels() {
  DeliveryVerifier v;
  v.Subscribe(1, 0);
  v.Subscribe(2, 0);
  for (int64_t seq = 1; seq <= 5; ++seq) v.Acked(0, seq, 0);
  v.Subscribe(3, 1);
  v.Subscribe(4, 1);
  v.Acked(1, 1, 3);
  v.Acked(1, 2, 4);
  v.Acked(1, 3, 3);
  return v;
}

void DeliverClean(DeliveryVerifier& v, uint32_t recipient) {
  for (int64_t seq = 1; seq <= 5; ++seq) v.Delivered(recipient, 0, seq);
}

void DeliverPair(DeliveryVerifier& v) {
  v.Delivered(4, 1, 1);
  v.Delivered(4, 1, 3);
  v.Delivered(3, 1, 2);
}

TEST(LoadVerifierTest, CleanRunPasses) {
  DeliveryVerifier v = TwoChannels();
  DeliverClean(v, 1);
  DeliverClean(v, 2);
  DeliverPair(v);
  const VerifyResult r = v.Check();
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(r.samples);
  EXPECT_EQ(r.expected, 13);  // 5 + 5 in the group, 2 + 1 in the pair (nobody gets its own)
  EXPECT_EQ(r.delivered, 13);
  EXPECT_EQ(r.lost + r.duplicates + r.reordered + r.unexpected, 0);
}

TEST(LoadVerifierTest, CatchesALostMessage) {
  DeliveryVerifier v = TwoChannels();
  DeliverClean(v, 1);
  for (int64_t seq : {1, 2, 4, 5}) v.Delivered(2, 0, seq);  // 3 never arrives
  DeliverPair(v);
  const VerifyResult r = v.Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.lost, 1);
  EXPECT_EQ(r.duplicates, 0);
  EXPECT_EQ(r.reordered, 0);
  ASSERT_FALSE(r.samples.empty());
  EXPECT_NE(r.samples[0].find("seq 3"), std::string::npos) << r.samples[0];
}

TEST(LoadVerifierTest, CatchesALostMessageAtTheEnd) {
  DeliveryVerifier v = TwoChannels();
  DeliverClean(v, 1);
  DeliverClean(v, 2);
  v.Delivered(4, 1, 1);
  v.Delivered(3, 1, 2);  // 4 never gets seq 3, the last one
  EXPECT_EQ(v.Check().lost, 1);
  EXPECT_FALSE(v.Check().ok());
}

TEST(LoadVerifierTest, CatchesADuplicate) {
  DeliveryVerifier v = TwoChannels();
  DeliverClean(v, 1);
  for (int64_t seq : {1, 2, 3, 3, 4, 5}) v.Delivered(2, 0, seq);
  DeliverPair(v);
  const VerifyResult r = v.Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(r.reordered, 0);
}

TEST(LoadVerifierTest, CatchesAnOutOfOrderDelivery) {
  DeliveryVerifier v = TwoChannels();
  DeliverClean(v, 1);
  for (int64_t seq : {1, 3, 2, 4, 5}) v.Delivered(2, 0, seq);
  DeliverPair(v);
  const VerifyResult r = v.Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.reordered, 1);
  EXPECT_EQ(r.lost, 0);
  EXPECT_EQ(r.duplicates, 0);
}

TEST(LoadVerifierTest, CatchesMessagesNobodySentOrOwnEchoesOrStrangers) {
  DeliveryVerifier v = TwoChannels();
  DeliverClean(v, 1);
  DeliverClean(v, 2);
  DeliverPair(v);
  v.Delivered(1, 0, 6);  // never acked, and no send of channel 0 was unsettled
  v.Delivered(3, 1, 3);  // 3's own message echoed back
  v.Delivered(5, 0, 1);  // 5 is no recipient of channel 0
  const VerifyResult r = v.Check();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.unexpected, 3);
}

TEST(LoadVerifierTest, AnUnackedSendMayArriveWithoutFailingTheRun) {
  DeliveryVerifier v = TwoChannels();
  v.Unsettled(0);  // a SEND timed out; the server may have stored it as seq 6
  DeliverClean(v, 1);
  v.Delivered(1, 0, 6);
  DeliverClean(v, 2);
  DeliverPair(v);
  const VerifyResult r = v.Check();
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(r.samples);
  EXPECT_EQ(r.unacked_delivered, 1);
}

TEST(LoadVerifierTest, ARecipientThatGotNothingLosesEverything) {
  DeliveryVerifier v = TwoChannels();
  DeliverClean(v, 1);
  DeliverPair(v);
  const VerifyResult r = v.Check();
  EXPECT_EQ(r.lost, 5);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace im::load
