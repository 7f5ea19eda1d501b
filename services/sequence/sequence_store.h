// All SQL of the sequence service: counter blocks in the `sequence` schema.
// Calls block on Postgres; run them on a worker thread.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/postgres_pool.h"
#include "services/sequence/counter_key.h"

namespace im::sequence {

class SequenceStore {
 public:
  explicit SequenceStore(PostgresPool* pg) : pg_(pg) {}

  // Reserves one new block per key, of sizes[i] values, committed before it returns. Keys must be
  // distinct. Blocks come back in the order of `keys`.
  absl::StatusOr<std::vector<Block>> ReserveBlocks(const std::vector<CounterKey>& keys,
                                                   const std::vector<int64_t>& sizes);

  // Holds a share lock on the keys' rows, so that no block of them can be reserved meanwhile, and
  // runs `fn` with each key's highest reserved value (0 if never reserved). Returns what `fn`
  // returns; the lock is released afterwards.
  absl::Status WithReservedLocked(const std::vector<CounterKey>& keys,
                                  absl::FunctionRef<absl::Status(const std::vector<int64_t>&)> fn);

 private:
  PostgresPool* pg_;
};

}  // namespace im::sequence
