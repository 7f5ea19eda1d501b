#include "common/migrations.h"

#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_replace.h"
#include "tests/support/test_env.h"

namespace im {
namespace {

std::string FreshSchema() { return absl::StrReplaceAll(testing::UniqueName("mig"), {{"-", "_"}}); }

const std::vector<Migration> kMigrations = {
    {1, "create_items", "CREATE TABLE items (id bigint PRIMARY KEY)"},
    {2, "add_name", "ALTER TABLE items ADD COLUMN name text"},
};

int64_t CountRows(PostgresPool& pg, const std::string& sql) {
  int64_t n = -1;
  EXPECT_TRUE(pg.Run([&](pqxx::connection& c) {
                  pqxx::read_transaction tx(c);
                  n = tx.exec(sql)[0][0].as<int64_t>();
                }).ok());
  return n;
}

TEST(MigrationsTest, ApplyingTwiceIsANoOp) {
  auto pg = testing::MakePostgresPool();
  const std::string schema = FreshSchema();
  absl::StatusOr<int> first = ApplyMigrations(*pg, schema, kMigrations);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 2);
  absl::StatusOr<int> second = ApplyMigrations(*pg, schema, kMigrations);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, 0);
  EXPECT_EQ(CountRows(*pg, "SELECT count(*) FROM " + schema + ".schema_migrations"), 2);
  EXPECT_EQ(CountRows(*pg, "SELECT count(*) FROM " + schema + ".items"), 0);
}

TEST(MigrationsTest, ConcurrentRunnersApplyEachMigrationOnce) {
  auto pg = testing::MakePostgresPool();
  const std::string schema = FreshSchema();
  std::vector<absl::StatusOr<int>> results(4, 0);
  std::vector<std::thread> runners;
  for (int i = 0; i < 4; ++i) {
    runners.emplace_back([&, i] { results[i] = ApplyMigrations(*pg, schema, kMigrations); });
  }
  for (auto& t : runners) t.join();
  int total = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    total += *r;
  }
  EXPECT_EQ(total, 2);
  EXPECT_EQ(CountRows(*pg, "SELECT count(*) FROM " + schema + ".schema_migrations"), 2);
}

TEST(MigrationsTest, ChangedMigrationIsRefused) {
  auto pg = testing::MakePostgresPool();
  const std::string schema = FreshSchema();
  ASSERT_TRUE(ApplyMigrations(*pg, schema, kMigrations).ok());
  std::vector<Migration> edited = kMigrations;
  edited[1].sql = "ALTER TABLE items ADD COLUMN title text";
  EXPECT_EQ(ApplyMigrations(*pg, schema, edited).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MigrationsTest, FailingMigrationAppliesNothing) {
  auto pg = testing::MakePostgresPool();
  const std::string schema = FreshSchema();
  std::vector<Migration> broken = kMigrations;
  broken.push_back({3, "broken", "ALTER TABLE no_such_table ADD COLUMN x int"});
  EXPECT_FALSE(ApplyMigrations(*pg, schema, broken).ok());
  absl::StatusOr<int> good = ApplyMigrations(*pg, schema, kMigrations);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(*good, 2);
}

}  // namespace
}  // namespace im
