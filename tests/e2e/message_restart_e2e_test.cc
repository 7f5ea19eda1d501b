// Acked means durable (DESIGN.md invariant 1) with the real binaries: a message acked over
// WebSocket survives kill -9 of the message service, and the path works again once it is back. Uses
// its own processes, so killing them disturbs no other test.
#include <gtest/gtest.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/suite_fixture.h"

namespace im {
namespace {

namespace common = im::common::v1;
using client::PersonChannel;
using testing::NextRecv;
using testing::UniqueName;

TEST(MessageRestartTest, AckedMessageSurvivesKillNineOfTheMessageService) {
  testing::Suite suite;
  ASSERT_TRUE(suite.WaitServing());
  const std::string alice = UniqueName("alice");
  const std::string bob = UniqueName("bob");
  auto alice_phone = suite.Login(alice, "phone");

  std::vector<client::SendAck> acks;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<client::SendAck> ack =
        alice_phone->Send(PersonChannel(bob), absl::StrCat("m", i), absl::StrCat("before ", i));
    ASSERT_TRUE(ack.ok()) << ack.status();
    ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
    acks.push_back(*ack);
  }

  suite.message().Kill();
  suite.message().Restart();
  ASSERT_TRUE(suite.message().WaitServing());

  std::vector<common::Message> history = suite.History(bob, PersonChannel(alice));
  ASSERT_EQ(history.size(), acks.size());
  for (size_t i = 0; i < acks.size(); ++i) {
    EXPECT_EQ(history[i].message_id(), acks[i].message_id());
    EXPECT_EQ(history[i].message_seq(), acks[i].message_seq());
    EXPECT_EQ(history[i].payload(), absl::StrCat("before ", i));
  }

  // The gateway reconnects to the restarted service: sends succeed again (retried while it does),
  // seqs keep growing, and bob, now online, gets the new message live.
  auto bob_phone = suite.Login(bob, "phone");
  absl::StatusOr<client::SendAck> after;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  do {
    after = alice_phone->Send(PersonChannel(bob), "after", "after the restart");
    if (after.ok() && after->reason() == common::REASON_CODE_SUCCESS) break;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->reason(), common::REASON_CODE_SUCCESS) << after->message();
  EXPECT_GT(after->message_seq(), acks.back().message_seq());
  std::optional<common::Message> got = NextRecv(*bob_phone);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->message_id(), after->message_id());
}

}  // namespace
}  // namespace im
