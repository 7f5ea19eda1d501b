#include "common/postgres_pool.h"

#include <cstring>
#include <memory>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/idle_socket.h"

namespace im {
namespace {

absl::Status FromSqlError(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  // Class 40: transaction rollback (serialization failure, deadlock): the caller may retry.
  if (state.rfind("40", 0) == 0) return absl::AbortedError(e.what());
  if (state == "57014") return absl::DeadlineExceededError(e.what());
  // Class 08 (connection exception) and 57P0x (server shutting down or restarting).
  if (state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0) {
    return absl::UnavailableError(e.what());
  }
  return absl::InternalError(absl::StrCat("postgres: ", e.what()));
}

// Without these, a Postgres host that stops answering (rather than refusing) blocks a connect
// for minutes and a query for as long as TCP retransmits: the whole worker pool would hang on it.
// Settings the DSN already names are left alone.
std::string WithConnectionDefaults(std::string dsn) {
  const bool uri = dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0;
  for (const auto& [key, value] : {std::pair<const char*, const char*>{"connect_timeout", "3"},
                                   {"keepalives_idle", "10"},
                                   {"keepalives_interval", "5"},
                                   {"keepalives_count", "3"},
                                   {"tcp_user_timeout", "15000"}}) {
    if (absl::StrContains(dsn, absl::StrCat(key, "="))) continue;
    const char* separator = !uri ? " " : (absl::StrContains(dsn, "?") ? "&" : "?");
    absl::StrAppend(&dsn, separator, key, "=", value);
  }
  return dsn;
}

// `EXECUTE name('param', ...)` for the call.
std::string ExecuteSql(pqxx::transaction_base& tx, const PgCall& call) {
  // libpqxx defines a registered statement on the server at its first exec_prepared; EXECUTE
  // needs it defined already.
  tx.conn().prepare_now(call.statement.name);
  std::string sql = absl::StrCat("EXECUTE ", call.statement.name, "(");
  for (size_t i = 0; i < call.params.size(); ++i) {
    absl::StrAppend(&sql, i > 0 ? "," : "", tx.quote(call.params[i]));
  }
  sql.push_back(')');
  return sql;
}

}  // namespace

PostgresPool::PostgresPool(Options options)
    : options_(std::move(options)),
      pool_(
          options_.size, options_.acquire_timeout,
          [this]() -> absl::StatusOr<std::unique_ptr<Connection>> {
            try {
              auto conn = std::make_unique<Connection>(options_.dsn);
              pqxx::nontransaction setup(conn->conn);
              setup.exec(absl::StrCat("SET statement_timeout = ",
                                      absl::ToInt64Milliseconds(options_.statement_timeout)));
              setup.commit();
              return conn;
            } catch (const std::exception& e) {
              return absl::UnavailableError(absl::StrCat("postgres connect: ", e.what()));
            }
          },
          [](Connection& connection) {
            return connection.conn.is_open() && IdleSocketIsOpen(connection.conn.sock());
          }) {
  // The factory reads options_ only when a connection is first needed, after this.
  options_.dsn = WithConnectionDefaults(options_.dsn);
}

absl::Status PostgresPool::Run(absl::FunctionRef<void(pqxx::connection&)> fn) {
  absl::StatusOr<ConnectionPool<Connection>::Lease> lease = pool_.Acquire();
  if (!lease.ok()) return lease.status();
  absl::Status status;
  try {
    DefineStatements(**lease);
    fn((*lease)->conn);
    return absl::OkStatus();
  } catch (const pqxx::broken_connection& e) {
    status = absl::UnavailableError(absl::StrCat("postgres connection lost: ", e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    status = absl::UnavailableError(absl::StrCat("postgres commit in doubt: ", e.what()));
  } catch (const pqxx::sql_error& e) {
    status = FromSqlError(e);
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("postgres: ", e.what()));
  }
  if (absl::IsUnavailable(status) || !(*lease)->conn.is_open()) lease->MarkBroken();
  return status;
}

void PostgresPool::Prepare(std::initializer_list<PgStatement> statements) {
  std::lock_guard<std::mutex> lock(statements_mu_);
  for (const PgStatement& statement : statements) {
    bool known = false;
    for (const PgStatement& existing : statements_) {
      if (std::strcmp(existing.name, statement.name) != 0) continue;
      if (std::strcmp(existing.sql, statement.sql) != 0) {
        throw std::logic_error(
            absl::StrCat("prepared statement ", statement.name, " registered with two texts"));
      }
      known = true;
    }
    if (!known) statements_.push_back(statement);
  }
  statement_count_.store(statements_.size(), std::memory_order_release);
}

void PostgresPool::DefineStatements(Connection& connection) {
  if (connection.prepared == statement_count_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(statements_mu_);
  for (; connection.prepared < statements_.size(); ++connection.prepared) {
    const PgStatement& statement = statements_[connection.prepared];
    connection.conn.prepare(statement.name, statement.sql);
  }
}

absl::Status PostgresPool::RunReads(const std::vector<PgRead>& reads) {
  if (reads.empty()) return absl::OkStatus();
  return Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    ExecPreparedReads(tx, reads);
  });
}

absl::Status PostgresPool::Ping() {
  return Run([](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT 1");
  });
}

pqxx::result ExecPreparedChain(pqxx::nontransaction& tx, const std::vector<PgCall>& calls) {
  std::string sql;
  for (const PgCall& call : calls) absl::StrAppend(&sql, ExecuteSql(tx, call), ";");
  return tx.exec(sql);
}

void ExecPreparedReads(pqxx::transaction_base& tx, const std::vector<PgRead>& reads) {
  if (reads.empty()) return;
  if (reads.size() == 1) {
    const PgCall& call = reads[0].call;
    reads[0].take(
        tx.exec_prepared(call.statement.name, pqxx::prepare::make_dynamic_params(call.params)));
    return;
  }
  std::vector<std::string> queries;
  queries.reserve(reads.size());
  for (const PgRead& read : reads) queries.push_back(ExecuteSql(tx, read.call));
  pqxx::pipeline pipeline(tx);
  // Held back until the first retrieve, which sends them all in one query.
  pipeline.retain(static_cast<int>(queries.size()));
  std::vector<pqxx::pipeline::query_id> ids;
  ids.reserve(queries.size());
  for (const std::string& query : queries) ids.push_back(pipeline.insert(query));
  for (size_t i = 0; i < reads.size(); ++i) reads[i].take(pipeline.retrieve(ids[i]));
  pipeline.complete();
}

std::string PgArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

}  // namespace im
