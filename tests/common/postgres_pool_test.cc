// PostgresPool::Prepare against the real test Postgres: registered statements run by name on the
// connection that was open before they were registered, and again on the connection that replaces
// one the server dropped. RunReads: reads of several stores in one round trip, each handed its
// own rows.
#include "common/postgres_pool.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "tests/support/test_env.h"

namespace im {
namespace {

constexpr PgStatement kAdd{"pool_test_add", "SELECT $1::int + $2::int"};
constexpr PgStatement kLabel{"pool_test_label", "SELECT 'label-' || $1::text"};
// statement_timestamp() is when the server received the query message the statement came in, so
// statements sent in one round trip share it.
constexpr PgStatement kReceived{"pool_test_received",
                                "SELECT $1::text, statement_timestamp()::text"};
constexpr PgStatement kFail{"pool_test_fail", "SELECT 1 / $1::int"};

PostgresPool::Options OneConnection() { return {.dsn = testing::PostgresDsn(), .size = 1}; }

// The backend pid of the pool's connection, and whether the server knows `name` as a prepared
// statement of that session.
struct Session {
  int pid = 0;
  bool server_knows = false;
};

Session Inspect(PostgresPool& pg, const char* name) {
  Session session;
  const absl::Status status = pg.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    session.pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
    session.server_knows =
        tx.exec_params1("SELECT count(*) FROM pg_prepared_statements WHERE name = $1", name)[0]
            .as<int>() == 1;
  });
  EXPECT_TRUE(status.ok()) << status;
  return session;
}

// pg_terminate_backend only signals the backend; this waits until it has exited.
void WaitUntilGone(PostgresPool& admin, int pid) {
  for (int i = 0; i < 200; ++i) {
    int alive = 1;
    ASSERT_TRUE(admin
                    .Run([&](pqxx::connection& conn) {
                      pqxx::nontransaction tx(conn);
                      alive = tx.exec_params1(
                                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)[0]
                                  .as<int>();
                    })
                    .ok());
    if (alive == 0) return;
    absl::SleepFor(absl::Milliseconds(10));
  }
  FAIL() << "backend " << pid << " did not exit";
}

absl::StatusOr<int> Add(PostgresPool& pg, int a, int b) {
  int sum = 0;
  const absl::Status status = pg.Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    sum = tx.exec_prepared1(kAdd.name, a, b)[0].as<int>();
  });
  if (!status.ok()) return status;
  return sum;
}

TEST(PostgresPoolTest, PreparedStatementsRunOnOpenAndReopenedConnections) {
  PostgresPool pg(OneConnection());
  // The connection opens before anything is registered.
  const Session first = Inspect(pg, kAdd.name);
  ASSERT_NE(first.pid, 0);
  EXPECT_FALSE(first.server_knows);

  pg.Prepare({kAdd});
  ASSERT_EQ(Add(pg, 2, 3).value_or(-1), 5);
  Session now = Inspect(pg, kAdd.name);
  EXPECT_EQ(now.pid, first.pid);
  EXPECT_TRUE(now.server_knows);

  // The server drops the idle session; the pool replaces it before the next Run.
  PostgresPool admin({.dsn = testing::PostgresDsn(), .size = 1});
  ASSERT_TRUE(admin
                  .Run([&](pqxx::connection& conn) {
                    pqxx::nontransaction tx(conn);
                    tx.exec(absl::StrCat("SELECT pg_terminate_backend(", first.pid, ")"));
                  })
                  .ok());
  WaitUntilGone(admin, first.pid);
  // The pool sees the closed idle connection before handing it out: no call fails for it.
  EXPECT_EQ(Add(pg, 1, 1).value_or(-1), 2);
  pg.Prepare({kLabel});
  ASSERT_EQ(Add(pg, 40, 2).value_or(-1), 42);
  now = Inspect(pg, kAdd.name);
  EXPECT_NE(now.pid, first.pid);
  EXPECT_TRUE(now.server_knows);
  std::string label;
  ASSERT_TRUE(pg.Run([&](pqxx::connection& conn) {
                  pqxx::read_transaction tx(conn);
                  label = tx.exec_prepared1(kLabel.name, "x")[0].as<std::string>();
                }).ok());
  EXPECT_EQ(label, "label-x");
}

TEST(PostgresPoolTest, RegisteringANameTwice) {
  PostgresPool pg(OneConnection());
  pg.Prepare({kAdd});
  pg.Prepare({kAdd});  // A second store of the same kind on one pool.
  EXPECT_EQ(Add(pg, 1, 2).value_or(-1), 3);
  EXPECT_THROW(pg.Prepare({{kAdd.name, "SELECT $1::int - $2::int"}}), std::logic_error);
  EXPECT_EQ(Add(pg, 1, 2).value_or(-1), 3);
}

// A read of kReceived that stores its two columns in *out.
PgRead Received(const std::string& tag, std::pair<std::string, std::string>* out) {
  return {{kReceived, {tag}}, [out](const pqxx::result& rows) {
            *out = {rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
          }};
}

TEST(PostgresPoolTest, RunReadsSendsSeveralReadsInOneRoundTrip) {
  PostgresPool pg(OneConnection());
  pg.Prepare({kReceived, kFail});
  std::pair<std::string, std::string> a, b, c;
  ASSERT_TRUE(pg.RunReads({Received("a", &a), Received("b", &b), Received("c", &c)}).ok());
  EXPECT_EQ(a.first, "a");
  EXPECT_EQ(b.first, "b");
  EXPECT_EQ(c.first, "c");
  EXPECT_EQ(a.second, b.second);
  EXPECT_EQ(b.second, c.second);

  // Alone, each read is its own round trip.
  std::pair<std::string, std::string> d, e;
  ASSERT_TRUE(pg.RunReads({Received("d", &d)}).ok());
  ASSERT_TRUE(pg.RunReads({Received("e", &e)}).ok());
  EXPECT_EQ(d.first, "d");
  EXPECT_NE(d.second, e.second);
}

TEST(PostgresPoolTest, AFailedReadFailsRunReadsAndHandsNothingAfterIt) {
  PostgresPool pg(OneConnection());
  pg.Prepare({kReceived, kFail});
  std::pair<std::string, std::string> before, after;
  bool failed_read_taken = false;
  const absl::Status status =
      pg.RunReads({Received("before", &before),
                   {{kFail, {"0"}}, [&](const pqxx::result&) { failed_read_taken = true; }},
                   Received("after", &after)});
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_FALSE(failed_read_taken);
  EXPECT_TRUE(after.first.empty());
  // The connection serves the next call.
  ASSERT_TRUE(pg.RunReads({Received("next", &after)}).ok());
  EXPECT_EQ(after.first, "next");
}

}  // namespace
}  // namespace im
