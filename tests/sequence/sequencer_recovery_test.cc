// Invariant 2 under failures: Redis flushed, restarted or down, Postgres down. These tests stop
// the shared servers, so ctest runs them alone (RUN_SERIAL).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/sequence/sequencer_fixture.h"

namespace im::sequence {
namespace {

using SequencerRecoveryTest = SequencerFixture;

// Pools notice a restarted server on first use; a few tries give them the chance.
template <typename Fn>
auto Eventually(Fn fn) {
  auto result = fn();
  for (int i = 0; i < 50 && !result.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    result = fn();
  }
  return result;
}

absl::StatusOr<int64_t> TryNext(Sequencer& sequencer, const std::string& channel) {
  absl::StatusOr<std::vector<SeqRange>> r = sequencer.Allocate({{channel, kMessageSeq, 1}});
  if (!r.ok()) return r.status();
  return r->front().last;
}

TEST_F(SequencerRecoveryTest, SeqNeverGoesBackWhenRedisIsFlushed) {
  const std::string channel = testing::UniqueName("flush");
  int64_t highest = 0;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 10; ++i) {
      const int64_t value = Next(channel);
      ASSERT_GT(value, highest);
      highest = value;
    }
    testing::Stack("flush-redis");
  }
  EXPECT_GT(Next(channel), highest);
}

TEST_F(SequencerRecoveryTest, SeqNeverGoesBackWhenRedisRestarts) {
  const std::string channel = testing::UniqueName("restart");
  int64_t highest = 0;
  for (int i = 0; i < 20; ++i) highest = Next(channel);
  testing::Stack("restart-redis");
  absl::StatusOr<int64_t> next = Eventually([&] { return TryNext(*sequencer_, channel); });
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_GT(*next, highest);
}

TEST_F(SequencerRecoveryTest, RedisDownIsUnavailableNeverAWrongSeq) {
  const std::string channel = testing::UniqueName("down");
  const int64_t before = Next(channel);
  testing::Stack("stop-redis");
  EXPECT_EQ(TryNext(*sequencer_, channel).status().code(), absl::StatusCode::kUnavailable);
  testing::Stack("start-redis");
  absl::StatusOr<int64_t> next = Eventually([&] { return TryNext(*sequencer_, channel); });
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_GT(*next, before);
}

TEST_F(SequencerRecoveryTest, PostgresDownServesTheReservedBlockThenIsUnavailable) {
  MakeSequencer({.block_size = 10});
  const std::string channel = testing::UniqueName("pgdown");
  ASSERT_EQ(Next(channel), 1);
  testing::Stack("stop-postgres");
  // Values inside the block already reserved stay safe to hand out.
  for (int64_t expected = 2; expected <= 10; ++expected) {
    absl::StatusOr<int64_t> value = TryNext(*sequencer_, channel);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, expected);
  }
  EXPECT_EQ(TryNext(*sequencer_, channel).status().code(), absl::StatusCode::kUnavailable);
  testing::Stack("start-postgres");
  absl::StatusOr<int64_t> next = Eventually([&] { return TryNext(*sequencer_, channel); });
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, 11);
}

}  // namespace
}  // namespace im::sequence
