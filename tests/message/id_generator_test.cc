// Message ids: node ids leased exclusively from Postgres, ids unique across generators.
#include "services/message/id_generator.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "absl/time/clock.h"
#include "common/migrations.h"
#include "common/postgres_pool.h"
#include "migrations_embedded.h"
#include "services/message/node_lease.h"
#include "tests/support/test_env.h"

namespace im::message {
namespace {

class MessageIdsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = testing::MakePostgresPool();
    absl::StatusOr<int> migrated = ApplyMigrations(*pg_, "message", EmbeddedMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated.status();
  }

  std::unique_ptr<NodeLease> Lease(absl::Duration ttl = absl::Seconds(6)) {
    absl::StatusOr<std::unique_ptr<NodeLease>> lease = NodeLease::Acquire(pg_.get(), {.ttl = ttl});
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? *std::move(lease) : nullptr;
  }

  std::unique_ptr<PostgresPool> pg_;
};

TEST_F(MessageIdsTest, LiveLeasesNeverShareANodeId) {
  std::vector<std::unique_ptr<NodeLease>> leases(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < leases.size(); ++i) {
    threads.emplace_back([&, i] { leases[i] = Lease(); });
  }
  for (std::thread& t : threads) t.join();
  std::set<int> nodes;
  for (const auto& lease : leases) {
    ASSERT_NE(lease, nullptr);
    EXPECT_TRUE(lease->valid());
    nodes.insert(lease->node_id());
  }
  EXPECT_EQ(nodes.size(), leases.size());
  // A released id is taken again, starting above what its previous holder minted.
  const int freed = leases[0]->node_id();
  leases[0]->ReportMs(absl::ToUnixMillis(absl::Now()) + 60000);
  leases[0].reset();
  std::unique_ptr<NodeLease> next = Lease();
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->node_id(), freed);
  EXPECT_GE(next->min_ms(), absl::ToUnixMillis(absl::Now()) + 50000);
  IdGenerator ids(next.get());
  absl::StatusOr<std::vector<uint64_t>> first = ids.Next(1);
  ASSERT_TRUE(first.ok());
  EXPECT_GT(IdGenerator::UnixMsOf(first->front()), next->min_ms());
}

// A holder that crashed may have minted until its own ttl past its last report: whoever takes the
// node id next starts above that even with a shorter ttl of its own.
TEST_F(MessageIdsTest, AnExpiredHoldersOwnTtlBoundsTheNextFloor) {
  std::unique_ptr<NodeLease> crashed = Lease(absl::Seconds(30));
  ASSERT_NE(crashed, nullptr);
  const int node = crashed->node_id();
  const int64_t reported_ms = absl::ToUnixMillis(absl::Now());
  // As if it crashed right after a report: the row expired and was never released.
  absl::Status expired = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_params(
        "UPDATE message.node_leases SET expires_at = now() - interval '1 second', "
        "last_ms = $2 WHERE node_id = $1",
        node, reported_ms);
    tx.commit();
  });
  ASSERT_TRUE(expired.ok()) << expired;
  // Leases go to the lowest free id; hold lower ones that other tests freed meanwhile.
  std::vector<std::unique_ptr<NodeLease>> lower;
  std::unique_ptr<NodeLease> next;
  while (next == nullptr && lower.size() < 64) {
    std::unique_ptr<NodeLease> lease = Lease();
    ASSERT_NE(lease, nullptr);
    if (lease->node_id() == node) {
      next = std::move(lease);
    } else {
      lower.push_back(std::move(lease));
    }
  }
  // Only another process taking the expired id between the update and these leases prevents it.
  if (next == nullptr) GTEST_SKIP() << "node " << node << " was taken by another process first";
  EXPECT_GE(next->min_ms(), reported_ms + 30000);
}

TEST_F(MessageIdsTest, IdsAreUniqueAcrossGeneratorsAndIncreasing) {
  std::unique_ptr<NodeLease> lease1 = Lease(), lease2 = Lease();
  ASSERT_NE(lease1, nullptr);
  ASSERT_NE(lease2, nullptr);
  IdGenerator gen1(lease1.get()), gen2(lease2.get());
  std::vector<std::vector<uint64_t>> minted(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      IdGenerator& gen = t % 2 == 0 ? gen1 : gen2;
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<std::vector<uint64_t>> batch = gen.Next(100);
        ASSERT_TRUE(batch.ok()) << batch.status();
        minted[t].insert(minted[t].end(), batch->begin(), batch->end());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<uint64_t> all;
  for (const auto& ids : minted) {
    for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]);
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(all.size(), 80000u);
  const uint64_t id = minted[0].back();
  EXPECT_EQ(IdGenerator::NodeOf(id), lease1->node_id());
  EXPECT_NEAR(static_cast<double>(IdGenerator::UnixMsOf(id)),
              static_cast<double>(absl::ToUnixMillis(absl::Now())), 60000.0);
  EXPECT_LT(id, uint64_t{1} << 63);
}

TEST_F(MessageIdsTest, RenewalKeepsTheLeaseAlive) {
  std::unique_ptr<NodeLease> lease = Lease();
  ASSERT_NE(lease, nullptr);
  // Past the 6 s ttl: only renewals (every 2 s) keep it valid and keep others off the id.
  absl::SleepFor(absl::Seconds(7));
  EXPECT_TRUE(lease->valid());
  std::unique_ptr<NodeLease> other = Lease();
  ASSERT_NE(other, nullptr);
  EXPECT_NE(other->node_id(), lease->node_id());
}

TEST_F(MessageIdsTest, AFailedRenewalIsRetriedWithinASecondNotAtTheNextTick) {
  PostgresPool pg(
      {.dsn = testing::PostgresDsn(), .size = 2, .statement_timeout = absl::Milliseconds(200)});
  absl::StatusOr<std::unique_ptr<NodeLease>> lease =
      NodeLease::Acquire(&pg, {.ttl = absl::Seconds(6), .retry_interval = absl::Milliseconds(200)});
  ASSERT_TRUE(lease.ok()) << lease.status();
  const absl::Time acquired = absl::Now();
  // The lease row stays locked across the first renewal (due 2 s after acquiring), so that
  // renewal times out, as it would while Postgres is unreachable.
  pqxx::connection locker(testing::PostgresDsn());
  {
    pqxx::work hold(locker);
    hold.exec_params("SELECT 1 FROM message.node_leases WHERE node_id = $1 FOR UPDATE",
                     (*lease)->node_id());
    absl::SleepFor(acquired + absl::Milliseconds(2600) - absl::Now());
  }
  // Without a prompt retry the next try is a whole interval later (4.2 s), and until then the
  // row still expires 6 s after acquiring.
  absl::SleepFor(acquired + absl::Milliseconds(3400) - absl::Now());
  pqxx::nontransaction read(locker);
  const double left_s =
      read.exec_params1(
              "SELECT extract(epoch FROM expires_at - now()) FROM message.node_leases "
              "WHERE node_id = $1",
              (*lease)->node_id())[0]
          .as<double>();
  EXPECT_GT(left_s, 4.5) << "the lease was not renewed after the lock was released";
  EXPECT_TRUE((*lease)->valid());
}

}  // namespace
}  // namespace im::message
