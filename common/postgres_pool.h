// Bounded pool of libpqxx connections. Work runs on the caller's thread, so call it from a worker
// pool, never from a gRPC or WebSocket I/O thread.
//
//   PostgresPool pg({.dsn = "postgresql://127.0.0.1:5432/im"});
//   absl::Status s = pg.Run([&](pqxx::connection& c) { pqxx::work tx(c); ...; tx.commit(); });
//
// A store's hot statements are prepared once per connection instead of parsed and planned on every
// call:
//
//   constexpr PgStatement kFind{"store_find", "SELECT ... WHERE id = $1"};
//   pg.Prepare({kFind});                                   // once, e.g. in the store's constructor
//   pg.Run([&](pqxx::connection& c) { pqxx::work tx(c); tx.exec_prepared(kFind.name, id); ... });
//
// A read that is one statement runs in a pqxx::nontransaction: the statement alone is atomic and
// reads one snapshot, while a read_transaction would add three round trips (BEGIN, SET TRANSACTION
// READ ONLY, ROLLBACK) to every call. A write of a few statements that must commit together runs
// them with ExecPreparedChain: one round trip instead of BEGIN, each statement and COMMIT. Reads of
// several stores that one caller needs together travel as one round trip with RunReads: each
// store hands out its read (a PgRead), the caller runs them all.
#pragma once

#include <atomic>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/connection_pool.h"

namespace im {

// A named statement. The name is unique per pool; by convention it starts with the store's schema.
struct PgStatement {
  const char* name;
  const char* sql;
};

struct PgRead;

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

  // Runs the reads in one round trip on a pooled connection (ExecPreparedReads); errors as Run.
  absl::Status RunReads(const std::vector<PgRead>& reads);

  // OK when a connection answers `SELECT 1`.
  absl::Status Ping();

  // Every connection, open now or opened later (also after a reconnect), defines these before its
  // next Run, so `fn` can run them with exec_prepared; libpqxx sends the definition to the server
  // on a connection's first use. Registering a name again with the same text does nothing; with a
  // different text it throws std::logic_error (two stores chose one name).
  void Prepare(std::initializer_list<PgStatement> statements);

 private:
  struct Connection {
    explicit Connection(const std::string& dsn) : conn(dsn) {}
    pqxx::connection conn;
    // How many of statements_ this connection has defined (they are only ever appended).
    size_t prepared = 0;
  };

  void DefineStatements(Connection& connection);

  Options options_;
  ConnectionPool<Connection> pool_;
  std::mutex statements_mu_;
  std::vector<PgStatement> statements_;
  std::atomic<size_t> statement_count_{0};
};

// One execution of a prepared statement: its parameters in text form, as exec_prepared takes them.
struct PgCall {
  const PgStatement& statement;
  std::vector<std::string> params;
};

// Runs the calls, in order, as one simple query (EXECUTE ...; EXECUTE ...) on `tx`, which must be
// a pqxx::nontransaction: Postgres runs them as one implicit transaction, all or none committed,
// each statement with a snapshot taken when it starts (so a lock taken by one is held when the next
// reads). Returns the last call's rows. The statements must be registered with the pool.
pqxx::result ExecPreparedChain(pqxx::nontransaction& tx, const std::vector<PgCall>& calls);

// A read that a store prepares for its caller: the call, and what to do with its rows. Lets the
// reads of several stores travel to Postgres together while each store keeps its own SQL.
struct PgRead {
  PgCall call;
  std::function<void(const pqxx::result&)> take;
};

// Runs the reads on `tx` in one round trip and hands each its rows, in order. Several reads go as
// one simple query of EXECUTEs, as ExecPreparedChain sends them (in a nontransaction each statement
// reads its own snapshot), and come back result by result. A failed read throws as exec_prepared
// does, and no read after it is handed anything.
void ExecPreparedReads(pqxx::transaction_base& tx, const std::vector<PgRead>& reads);

// A Postgres array literal for a `$n::text[]` (or `::bigint[]`) parameter, so a batch travels in
// one statement: PgArray({"a", "b"}) == R"({"a","b"})".
std::string PgArray(const std::vector<std::string>& values);

template <typename Int>
std::string PgIntArray(const std::vector<Int>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

}  // namespace im
