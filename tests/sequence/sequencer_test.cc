#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "tests/sequence/sequencer_fixture.h"

namespace im::sequence {
namespace {

using SequencerTest = SequencerFixture;

TEST_F(SequencerTest, ConcurrentAllocationsNeverRepeatAndIncreasePerCaller) {
  const std::string channel = testing::UniqueName("hot");
  constexpr int kThreads = 8;
  constexpr int kCalls = 1000;
  std::vector<std::vector<int64_t>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) seen[t].push_back(Next(channel));
    });
  }
  for (auto& thread : threads) thread.join();

  std::set<int64_t> all;
  for (const auto& values : seen) {
    for (size_t i = 1; i < values.size(); ++i) ASSERT_LT(values[i - 1], values[i]);
    all.insert(values.begin(), values.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kCalls));
  EXPECT_GT(*all.begin(), 0);
}

TEST_F(SequencerTest, BatchRangesAreConsecutivePerCounterInRequestOrder) {
  const std::string a = testing::UniqueName("a");
  const std::string b = testing::UniqueName("b");
  absl::StatusOr<std::vector<SeqRange>> ranges = sequencer_->Allocate(
      {{a, kMessageSeq, 3}, {b, kMessageSeq, 2}, {a, kMessageSeq, 100}, {a, kExtensionVersion, 1}});
  ASSERT_TRUE(ranges.ok()) << ranges.status();
  ASSERT_EQ(ranges->size(), 4u);
  EXPECT_EQ((*ranges)[0].first, 1);
  EXPECT_EQ((*ranges)[0].last, 3);
  EXPECT_EQ((*ranges)[1].first, 1);
  EXPECT_EQ((*ranges)[1].last, 2);
  // 100 values cross the 64-value block: the range stays contiguous after the first one.
  EXPECT_EQ((*ranges)[2].first, 4);
  EXPECT_EQ((*ranges)[2].last, 103);
  // Each kind is its own counter.
  EXPECT_EQ((*ranges)[3].first, 1);
  EXPECT_EQ(Next(a), 104);
}

// Read positions belong to the conversation service: the migrated schema holds counters only.
TEST_F(SequencerTest, SchemaHoldsCountersOnly) {
  std::vector<std::string> tables;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    for (const auto& row :
         tx.exec("SELECT table_name FROM information_schema.tables WHERE table_schema = 'sequence' "
                 "ORDER BY table_name")) {
      tables.push_back(row[0].as<std::string>());
    }
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(tables, (std::vector<std::string>{"counters", "schema_migrations"}));
}

TEST_F(SequencerTest, CountersContinueWithoutGapsAcrossBlocks) {
  const std::string channel = testing::UniqueName("blocks");
  for (int64_t expected = 1; expected <= 300; ++expected) ASSERT_EQ(Next(channel), expected);
}

TEST_F(SequencerTest, ChannelNamesWithQuotesAndBracesWork) {
  const std::string channel = testing::UniqueName("we\"ird\\,{x}");
  EXPECT_EQ(Next(channel), 1);
  EXPECT_EQ(Next(channel), 2);
}

TEST_F(SequencerTest, BadInputIsInvalidArgument) {
  const auto code = [&](std::vector<AllocateItem> items) {
    return sequencer_->Allocate(items).status().code();
  };
  const absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code({}), kInvalid);
  EXPECT_EQ(code({{"", kMessageSeq, 1}}), kInvalid);
  EXPECT_EQ(code({{std::string(256, 'x'), kMessageSeq, 1}}), kInvalid);
  EXPECT_EQ(code({{"bad\nname", kMessageSeq, 1}}), kInvalid);
  EXPECT_EQ(code({{"c", kMessageSeq, 0}}), kInvalid);
  EXPECT_EQ(code({{"c", kMessageSeq, 10001}}), kInvalid);
  EXPECT_EQ(code({{"c", -1, 1}}), kInvalid);
  EXPECT_EQ(code({{"c", 2, 1}}), kInvalid);
  EXPECT_EQ(code(std::vector<AllocateItem>(4097, {"c", kMessageSeq, 1})), kInvalid);
}

TEST_F(SequencerTest, CounterRestoredFromAnOldRedisRunIsNotTrusted) {
  const std::string channel = testing::UniqueName("restored");
  int64_t last = 0;
  for (int i = 0; i < 10; ++i) last = Next(channel);
  // What an AOF/RDB restore after a crash looks like: the counter is back, older than what was
  // handed out, and written by another server run.
  ASSERT_TRUE(redis_
                  ->Pipeline({{"HSET", "seq:c:{" + channel + "}:0", "cur", "2", "hi", "64", "run",
                               "0000000000000000000000000000000000000000"}})
                  .ok());
  EXPECT_GT(Next(channel), last);
}

TEST_F(SequencerTest, AnOlderBlockNeverRecreatesAMissingCounter) {
  const std::string channel = testing::UniqueName("race");
  const CounterKey key{channel, kMessageSeq};
  absl::StatusOr<std::vector<Block>> older = store_->ReserveBlocks({key}, {64});
  absl::StatusOr<std::vector<Block>> newer = store_->ReserveBlocks({key}, {64});
  ASSERT_TRUE(older.ok() && newer.ok());
  absl::Status status =
      store_->WithReservedLocked({key}, [&](const std::vector<int64_t>& reserved) {
        EXPECT_EQ(reserved[0], newer->front().reserved_after);
        // What Refill does for a creator holding the older block: it is not the newest.
        absl::StatusOr<std::vector<bool>> covered = cache_->Install(*older, {false});
        EXPECT_TRUE(covered.ok() && !(*covered)[0]);
        return absl::OkStatus();
      });
  ASSERT_TRUE(status.ok()) << status;
  // The counter is created from a block above both.
  EXPECT_GT(Next(channel), newer->front().reserved_after);
}

}  // namespace
}  // namespace im::sequence
