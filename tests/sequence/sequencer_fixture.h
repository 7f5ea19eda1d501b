// A Sequencer on the test Postgres and Redis, with the sequence schema migrated.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "common/migrations.h"
#include "migrations_embedded.h"
#include "services/sequence/counter_cache.h"
#include "services/sequence/sequence_store.h"
#include "services/sequence/sequencer.h"
#include "tests/support/test_env.h"

namespace im::sequence {

class SequencerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = testing::MakePostgresPool();
    redis_ = testing::MakeRedisPool();
    absl::StatusOr<int> migrated = ApplyMigrations(*pg_, "sequence", EmbeddedMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated.status();
    store_ = std::make_unique<SequenceStore>(pg_.get());
    cache_ = std::make_unique<CounterCache>(redis_.get());
    MakeSequencer({.block_size = 64});
  }

  void MakeSequencer(Sequencer::Options options) {
    sequencer_ = std::make_unique<Sequencer>(store_.get(), cache_.get(), options);
  }

  // One value of `channel`'s message seq; fails the test on error.
  int64_t Next(const std::string& channel) {
    absl::StatusOr<std::vector<SeqRange>> r = sequencer_->Allocate({{channel, kMessageSeq, 1}});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->front().last : -1;
  }

  std::unique_ptr<PostgresPool> pg_;
  std::unique_ptr<RedisPool> redis_;
  std::unique_ptr<SequenceStore> store_;
  std::unique_ptr<CounterCache> cache_;
  std::unique_ptr<Sequencer> sequencer_;
};

}  // namespace im::sequence
