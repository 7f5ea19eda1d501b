#include "services/sequence/sequence_store.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace im::sequence {
namespace {

// Rows are locked in (channel, kind) order by every statement, so concurrent batches cannot
// deadlock on each other.
constexpr char kReserveBlocks[] = R"sql(
INSERT INTO sequence.counters AS c (channel, kind, reserved)
SELECT channel, kind, size
FROM unnest($1::text[], $2::smallint[], $3::bigint[]) AS t(channel, kind, size)
ORDER BY channel, kind
ON CONFLICT (channel, kind)
DO UPDATE SET reserved = c.reserved + EXCLUDED.reserved, updated_at = now()
RETURNING channel, kind, reserved)sql";

constexpr char kLockReserved[] = R"sql(
SELECT channel, kind, reserved
FROM sequence.counters
WHERE (channel, kind) IN (SELECT * FROM unnest($1::text[], $2::smallint[]))
ORDER BY channel, kind
FOR SHARE)sql";

struct KeyArrays {
  std::string channels;
  std::string kinds;
};

KeyArrays ToArrays(const std::vector<CounterKey>& keys) {
  std::vector<std::string> channels;
  std::vector<int> kinds;
  channels.reserve(keys.size());
  kinds.reserve(keys.size());
  for (const CounterKey& key : keys) {
    channels.push_back(key.channel);
    kinds.push_back(key.kind);
  }
  return {PgArray(channels), PgIntArray(kinds)};
}

absl::flat_hash_map<CounterKey, int64_t> ReservedByKey(const pqxx::result& rows) {
  absl::flat_hash_map<CounterKey, int64_t> reserved;
  for (const auto& row : rows) {
    reserved[CounterKey{row[0].as<std::string>(), row[1].as<int>()}] = row[2].as<int64_t>();
  }
  return reserved;
}

}  // namespace

absl::StatusOr<std::vector<Block>> SequenceStore::ReserveBlocks(const std::vector<CounterKey>& keys,
                                                                const std::vector<int64_t>& sizes) {
  const KeyArrays arrays = ToArrays(keys);
  absl::flat_hash_map<CounterKey, int64_t> reserved;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    reserved = ReservedByKey(
        tx.exec_params(kReserveBlocks, arrays.channels, arrays.kinds, PgIntArray(sizes)));
    tx.commit();
  });
  if (!status.ok()) return status;
  std::vector<Block> blocks;
  blocks.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = reserved.find(keys[i]);
    if (it == reserved.end()) {
      return absl::InternalError(absl::StrCat("no block reserved for ", keys[i].channel));
    }
    blocks.push_back(Block{keys[i], it->second - sizes[i], it->second});
  }
  return blocks;
}

absl::Status SequenceStore::WithReservedLocked(
    const std::vector<CounterKey>& keys,
    absl::FunctionRef<absl::Status(const std::vector<int64_t>&)> fn) {
  const KeyArrays arrays = ToArrays(keys);
  absl::Status result;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    const absl::flat_hash_map<CounterKey, int64_t> by_key =
        ReservedByKey(tx.exec_params(kLockReserved, arrays.channels, arrays.kinds));
    std::vector<int64_t> reserved;
    reserved.reserve(keys.size());
    for (const CounterKey& key : keys) {
      auto it = by_key.find(key);
      reserved.push_back(it == by_key.end() ? 0 : it->second);
    }
    result = fn(reserved);
    tx.commit();
  });
  if (!status.ok()) return status;
  return result;
}

}  // namespace im::sequence
