// All SQL about channels of the message service: groups and the subscribers of a channel, in the
// `message` schema. Calls block on Postgres; run them on a worker or lane thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/postgres_pool.h"

namespace im::message {

struct GroupRow {
  std::string group_id;
  std::string name;
  std::string extra;
  uint32_t subscriber_count = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// What a uid may do with a group channel.
enum class GroupAccess { kNoGroup, kNotSubscriber, kSubscriber };

class ChannelStore {
 public:
  // Registers the store's hot statements with `pg` (PostgresPool::Prepare).
  explicit ChannelStore(PostgresPool* pg);

  // Creates the group with its first subscribers in one transaction. ALREADY_EXISTS if the id is
  // taken (also by a deleted group).
  absl::StatusOr<GroupRow> CreateGroup(const std::string& group_id, const std::string& name,
                                       const std::string& extra,
                                       const std::vector<std::string>& uids);

  // Sets the fields given; NOT_FOUND for an unknown or deleted group.
  absl::StatusOr<GroupRow> UpdateGroup(const std::string& group_id,
                                       const std::optional<std::string>& name,
                                       const std::optional<std::string>& extra);

  // Marks the group deleted (idempotent); NOT_FOUND if it never existed.
  absl::Status DeleteGroup(const std::string& group_id);

  // Adds uids to a live group's channel; returns how many were new. NOT_FOUND if the group is
  // unknown or deleted.
  absl::StatusOr<uint32_t> AddSubscribers(const std::string& group_id,
                                          const std::vector<std::string>& uids);

  // Returns how many of the uids were subscribers. NOT_FOUND as for AddSubscribers.
  absl::StatusOr<uint32_t> RemoveSubscribers(const std::string& group_id,
                                             const std::vector<std::string>& uids);

  // Up to `limit` subscribers with uid > after, ascending. NOT_FOUND as for AddSubscribers.
  absl::StatusOr<std::vector<std::string>> ListSubscribers(const std::string& group_id,
                                                           const std::string& after,
                                                           uint32_t limit);

  // Access of uids[i] to group_ids[i], for many pairs in one query. INVALID_ARGUMENT for a bad
  // group id.
  absl::StatusOr<std::vector<GroupAccess>> CheckAccess(const std::vector<std::string>& group_ids,
                                                       const std::vector<std::string>& uids);
  // The read of CheckAccess into *access, for the caller to run with others
  // (PostgresPool::RunReads). `group_ids` must not be empty.
  absl::StatusOr<PgRead> CheckAccessRead(const std::vector<std::string>& group_ids,
                                         const std::vector<std::string>& uids,
                                         std::vector<GroupAccess>* access) const;

  // Up to `limit` subscribers with uid > after of the group channel `channel_key`, ascending; none
  // when the group is deleted or the key is not a group's. Runs in the caller's transaction (the
  // cmd expansion reads a page in its own) and throws as pqxx does.
  std::vector<std::string> SubscribersPast(pqxx::transaction_base& tx,
                                           const std::string& channel_key, const std::string& after,
                                           size_t limit) const;

  // The subscribers of each live group channel key, one list per key in request order.
  absl::StatusOr<std::vector<std::vector<std::string>>> SubscribersOf(
      const std::vector<std::string>& channel_keys);

 private:
  PostgresPool* pg_;
};

}  // namespace im::message
