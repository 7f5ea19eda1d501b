#include "common/migrations.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace im {

absl::StatusOr<int> ApplyMigrations(PostgresPool& pg, const std::string& schema,
                                    const std::vector<Migration>& migrations) {
  std::vector<const Migration*> ordered;
  for (const Migration& m : migrations) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](const Migration* a, const Migration* b) { return a->version < b->version; });
  for (size_t i = 1; i < ordered.size(); ++i) {
    if (ordered[i]->version == ordered[i - 1]->version) {
      return absl::InvalidArgumentError(
          absl::StrCat("two migrations with version ", ordered[i]->version, " in ", schema));
    }
  }

  int applied = 0;
  absl::Status mismatch;
  absl::Status status = pg.Run([&](pqxx::connection& conn) {
    applied = 0;
    pqxx::work tx(conn);
    const std::string quoted = tx.quote_name(schema);
    // Waiting for another runner and long migrations are expected here; the pool's per-statement
    // limit is meant for request work.
    tx.exec("SET LOCAL statement_timeout = 0");
    // The lock is taken before CREATE SCHEMA, which itself races between concurrent runners.
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", "im.migrations." + schema);
    tx.exec(absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", quoted));
    tx.exec(
        absl::StrCat("CREATE TABLE IF NOT EXISTS ", quoted,
                     ".schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                     " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"));
    std::map<int, std::string> done;
    for (const auto& row :
         tx.exec(absl::StrCat("SELECT version, checksum FROM ", quoted, ".schema_migrations"))) {
      done[row[0].as<int>()] = row[1].as<std::string>();
    }
    for (const Migration* m : ordered) {
      const std::string checksum = tx.exec_params("SELECT md5($1)", m->sql)[0][0].as<std::string>();
      auto it = done.find(m->version);
      if (it != done.end()) {
        if (it->second != checksum) {
          mismatch = absl::FailedPreconditionError(
              absl::StrCat("migration ", schema, "/", m->version, "_", m->name,
                           " was changed after it was applied; add a new migration instead"));
          return;
        }
        continue;
      }
      tx.exec(absl::StrCat("SET LOCAL search_path TO ", quoted));
      tx.exec(m->sql);
      tx.exec_params(
          absl::StrCat("INSERT INTO ", quoted,
                       ".schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"),
          m->version, m->name, checksum);
      log::Info("migration_applied",
                {{"schema", schema}, {"version", absl::StrCat(m->version)}, {"name", m->name}});
      ++applied;
    }
    tx.commit();
  });
  if (!status.ok()) return status;
  if (!mismatch.ok()) return mismatch;
  return applied;
}

}  // namespace im
