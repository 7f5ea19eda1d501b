// All SQL of the `extension` schema: current values and the operation log. A batch of changes is
// one transaction that takes the advisory locks of its channels (in one global order, so
// concurrent writers never deadlock), reads the current rows, lets the caller decide (and take
// versions from the sequence service) while the locks are held, and writes values and log rows
// with one statement each. Calls block on Postgres; run them on a worker or lane thread.
//
//   store.Apply(refs, [&](const std::vector<std::optional<StoredExtension>>& current)
//                         -> absl::StatusOr<ExtensionWrites> { ... });
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "common/postgres_pool.h"

namespace im::extension {

// One message of one channel.
struct MessageRef {
  std::string channel_key;
  uint64_t message_id = 0;
};

// A row of `extensions`.
struct StoredExtension {
  std::string channel_key;
  uint64_t message_id = 0;
  int64_t message_seq = 0;
  int32_t status = 0;
  std::string ext;
  int64_t version = 0;
  int64_t updated_ms = 0;
  std::string updated_by;
};

// A row of `operations`.
struct Operation {
  std::string channel_key;
  int64_t version = 0;
  uint64_t message_id = 0;
  std::string operator_uid;
  int64_t at_ms = 0;
  // Unset for a message's first change.
  std::optional<int32_t> old_status;
  std::optional<std::string> old_ext;
  int32_t new_status = 0;
  std::string new_ext;
};

// What a batch writes: each message's final value once, and one log row per applied change.
struct ExtensionWrites {
  std::vector<StoredExtension> values;
  std::vector<Operation> operations;
};

// A page of a channel's values by version, and the channel's highest version, from one snapshot.
struct VersionPage {
  std::vector<StoredExtension> values;
  bool has_more = false;
  int64_t max_version = 0;
};

class ExtensionStore {
 public:
  explicit ExtensionStore(PostgresPool* pg) : pg_(pg) {}

  using Decide = absl::FunctionRef<absl::StatusOr<ExtensionWrites>(
      const std::vector<std::optional<StoredExtension>>& current)>;

  // The current rows of `refs` (same order; nullopt where none), without locks.
  absl::StatusOr<std::vector<std::optional<StoredExtension>>> Read(
      const std::vector<MessageRef>& refs);

  // One transaction: locks the channels of `refs`, reads their rows FOR UPDATE (same order as
  // `refs`), runs `decide` and writes what it returns, then commits. A failed `decide` rolls back
  // and its status is returned; nothing is written.
  absl::Status Apply(const std::vector<MessageRef>& refs, Decide decide);

  // The rows of these messages of one channel that exist, in no particular order.
  absl::StatusOr<std::vector<StoredExtension>> Get(const std::string& channel_key,
                                                   const std::vector<uint64_t>& message_ids);

  // Up to `limit` rows with version > since_version in version order, whether more follow, and the
  // channel's highest version, all from one snapshot.
  absl::StatusOr<VersionPage> ReadSince(const std::string& channel_key, int64_t since_version,
                                        uint32_t limit);

  // Up to `limit` log rows of a channel with version > after_version, in version order.
  absl::StatusOr<std::vector<Operation>> ReadOperations(const std::string& channel_key,
                                                        int64_t after_version, uint32_t limit);

  // Deletes up to `limit` log rows older than `age` and returns how many.
  absl::StatusOr<int64_t> TrimOperations(absl::Duration age, int64_t limit);

 private:
  PostgresPool* pg_;
};

}  // namespace im::extension
