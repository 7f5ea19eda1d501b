// Versioned SQL migrations per service. Each service owns one Postgres schema; its migrations are
// compiled into its binary (cmake/EmbedMigrations.cmake) and applied by `--migrate_only` (the Helm
// hook Job) or at start-up.
//
//   absl::StatusOr<int> applied = ApplyMigrations(pg, "sequence", EmbeddedMigrations());
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/postgres_pool.h"

namespace im {

struct Migration {
  int version;
  std::string name;
  std::string sql;
};

// Applies, in version order, every migration not yet recorded in <schema>.schema_migrations, in one
// transaction under an advisory lock, so two instances starting at once serialize and the second
// applies nothing. Migrations run with search_path = <schema>. Returns how many were applied.
// A recorded migration whose SQL has changed since -> FAILED_PRECONDITION, nothing applied.
absl::StatusOr<int> ApplyMigrations(PostgresPool& pg, const std::string& schema,
                                    const std::vector<Migration>& migrations);

}  // namespace im
