// Bounded pool of libpqxx connections. Work runs on the caller's thread, so call it from a worker
// pool, never from a gRPC or WebSocket I/O thread.
//
//   PostgresPool pg({.dsn = "postgresql://127.0.0.1:5432/im"});
//   absl::Status s = pg.Run([&](pqxx::connection& c) { pqxx::work tx(c); ...; tx.commit(); });
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/connection_pool.h"

namespace im {

class PostgresPool {
 public:
  struct Options {
    std::string dsn;
    int size = 8;
    absl::Duration acquire_timeout = absl::Seconds(2);
    // Applied to every session so a stuck query fails instead of holding a connection forever.
    absl::Duration statement_timeout = absl::Seconds(5);
  };

  explicit PostgresPool(Options options);

  // Runs `fn` with a pooled connection. libpqxx exceptions become statuses: a lost or refused
  // connection -> UNAVAILABLE (the connection is dropped), serialization failure or deadlock ->
  // ABORTED (safe to retry), statement timeout -> DEADLINE_EXCEEDED, anything else -> INTERNAL.
  absl::Status Run(absl::FunctionRef<void(pqxx::connection&)> fn);

  // OK when a connection answers `SELECT 1`.
  absl::Status Ping();

 private:
  Options options_;
  ConnectionPool<pqxx::connection> pool_;
};

// A Postgres array literal for a `$n::text[]` (or `::bigint[]`) parameter, so a batch travels in
// one statement: PgArray({"a", "b"}) == R"({"a","b"})".
std::string PgArray(const std::vector<std::string>& values);

template <typename Int>
std::string PgIntArray(const std::vector<Int>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

}  // namespace im
