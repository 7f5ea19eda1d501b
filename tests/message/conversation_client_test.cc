// ConversationClient.AdvanceReads against a fake conversation service: advances that arrive while
// a call is out, or within advance_interval of the last call's start, merge into the next call (the
// furthest position per uid and channel wins), and an advance on a client idle for longer leaves
// at once.
#include "services/message/conversation_client.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/fakes/fake_conversation.h"
#include "tests/support/test_env.h"

namespace im::message {
namespace {

namespace cv1 = im::conversation::v1;

cv1::ReadAdvance Advance(const std::string& uid, const std::string& peer, int64_t seq) {
  cv1::ReadAdvance advance;
  advance.set_uid(uid);
  advance.mutable_channel()->set_type(im::common::v1::CHANNEL_TYPE_PERSON);
  advance.mutable_channel()->set_id(peer);
  advance.set_read_seq(seq);
  // Counters that identify the seq they came with.
  advance.set_red_dots(seq * 10);
  advance.set_own_red_dots(seq * 100);
  return advance;
}

class ConversationClientTest : public ::testing::Test {
 protected:
  testing::FakeConversation fake_;
  prometheus::Registry registry_;
  ConversationClient client_{testing::FreshChannel(fake_.address()), {}, registry_};
};

TEST_F(ConversationClientTest, AdvancesWaitingForACallMergeIntoTheNext) {
  fake_.set_hold_advances(true);
  client_.AdvanceReads({Advance("u1", "p", 1)});
  ASSERT_EQ(fake_.WaitForAdvances(1, absl::Seconds(5)).size(), 1u);
  // 200 batches while the first call is out: u1 moves up, u2 comes in descending order, u3 is in
  // another channel of u1's.
  for (int64_t i = 0; i < 200; ++i) {
    client_.AdvanceReads(
        {Advance("u1", "p", 2 + i), Advance("u2", "p", 500 - i), Advance("u1", "q", 7)});
  }
  fake_.set_hold_advances(false);
  const std::vector<cv1::ReadAdvance> received = fake_.WaitForAdvances(4, absl::Seconds(5));
  ASSERT_EQ(received.size(), 4u);
  EXPECT_EQ(fake_.AdvanceCalls(), 2u);
  std::map<std::string, cv1::ReadAdvance> merged;
  for (size_t i = 1; i < received.size(); ++i) {
    merged[absl::StrCat(received[i].uid(), "/", received[i].channel().id())] = received[i];
  }
  ASSERT_EQ(merged.size(), 3u);
  for (const auto& [key, seq] :
       std::map<std::string, int64_t>{{"u1/p", 201}, {"u2/p", 500}, {"u1/q", 7}}) {
    const cv1::ReadAdvance& advance = merged[key];
    EXPECT_EQ(advance.read_seq(), seq) << key;
    EXPECT_EQ(advance.red_dots(), seq * 10) << key;
    EXPECT_EQ(advance.own_red_dots(), seq * 100) << key;
  }

  // Idle again: the next advance waits for nothing but the interval.
  client_.AdvanceReads({Advance("u1", "p", 300)});
  const std::vector<cv1::ReadAdvance> after = fake_.WaitForAdvances(5, absl::Seconds(5));
  ASSERT_EQ(after.size(), 5u);
  EXPECT_EQ(after.back().read_seq(), 300);
  EXPECT_EQ(fake_.AdvanceCalls(), 3u);
}

TEST_F(ConversationClientTest, AdvancesWithinTheIntervalGoInOneCall) {
  constexpr absl::Duration kInterval = absl::Milliseconds(400);
  ConversationClient client(testing::FreshChannel(fake_.address()), {.advance_interval = kInterval},
                            registry_);
  client.AdvanceReads({Advance("u1", "p", 1)});
  ASSERT_EQ(fake_.WaitForAdvances(1, absl::Seconds(5)).size(), 1u);
  const absl::Time first_call = absl::Now();
  // The first call has returned; ten more batches come while the interval runs.
  for (int64_t i = 2; i <= 11; ++i) {
    client.AdvanceReads({Advance("u1", "p", i), Advance(absl::StrCat("v", i), "p", i)});
    absl::SleepFor(absl::Milliseconds(10));
  }
  const std::vector<cv1::ReadAdvance> received = fake_.WaitForAdvances(12, absl::Seconds(5));
  const absl::Duration waited = absl::Now() - first_call;
  ASSERT_EQ(received.size(), 12u);
  EXPECT_EQ(fake_.AdvanceCalls(), 2u);
  EXPECT_GE(waited, kInterval - absl::Milliseconds(50));
  int64_t u1 = 0;
  for (const cv1::ReadAdvance& advance : received) {
    if (advance.uid() == "u1") u1 = std::max(u1, advance.read_seq());
  }
  EXPECT_EQ(u1, 11);
}

TEST_F(ConversationClientTest, EveryAdvanceArrivesWhenCallsOverlapTheirReturns) {
  // No holding: calls return while advances keep coming; each position must still arrive.
  constexpr int kUsers = 50;
  constexpr int64_t kRounds = 100;
  for (int64_t round = 1; round <= kRounds; ++round) {
    std::vector<cv1::ReadAdvance> batch;
    for (int u = 0; u < kUsers; ++u) batch.push_back(Advance(absl::StrCat("u", u), "p", round));
    client_.AdvanceReads(std::move(batch));
  }
  std::map<std::string, int64_t> furthest;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    furthest.clear();
    for (const cv1::ReadAdvance& advance : fake_.WaitForAdvances(0, absl::ZeroDuration())) {
      int64_t& seq = furthest[advance.uid()];
      seq = std::max(seq, advance.read_seq());
    }
    bool done = furthest.size() == kUsers;
    for (const auto& [uid, seq] : furthest) done = done && seq == kRounds;
    if (done) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(furthest.size(), static_cast<size_t>(kUsers));
  for (const auto& [uid, seq] : furthest) EXPECT_EQ(seq, kRounds) << uid;
  EXPECT_LT(fake_.AdvanceCalls(), static_cast<size_t>(kRounds));
}

}  // namespace
}  // namespace im::message
