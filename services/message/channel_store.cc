#include "services/message/channel_store.h"

#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/message/public/channel_key.h"

namespace im::message {
namespace {

constexpr char kCreateGroup[] = R"sql(
INSERT INTO message.groups (group_id, name, extra) VALUES ($1, $2, $3)
ON CONFLICT (group_id) DO NOTHING
RETURNING (extract(epoch FROM created_at) * 1000)::bigint)sql";

constexpr char kInsertSubscribers[] = R"sql(
INSERT INTO message.subscribers (channel_key, uid)
SELECT $1, uid FROM unnest($2::text[]) AS t(uid)
ON CONFLICT DO NOTHING)sql";

constexpr char kUpdateGroup[] = R"sql(
UPDATE message.groups
SET name = COALESCE($2, name), extra = COALESCE($3, extra), updated_at = now()
WHERE group_id = $1 AND NOT deleted
RETURNING group_id, name, extra, (extract(epoch FROM created_at) * 1000)::bigint,
          (extract(epoch FROM updated_at) * 1000)::bigint)sql";

constexpr char kCountSubscribers[] = R"sql(
SELECT count(*) FROM message.subscribers WHERE channel_key = $1)sql";

constexpr char kDeleteGroup[] = R"sql(
UPDATE message.groups SET deleted = true, updated_at = CASE WHEN deleted THEN updated_at ELSE now() END
WHERE group_id = $1
RETURNING group_id)sql";

// Locks the group row so a concurrent DeleteGroup cannot slip between the check and the change.
constexpr char kLockLiveGroup[] = R"sql(
SELECT 1 FROM message.groups WHERE group_id = $1 AND NOT deleted FOR SHARE)sql";

constexpr char kLiveGroup[] = R"sql(
SELECT 1 FROM message.groups WHERE group_id = $1 AND NOT deleted)sql";

constexpr char kRemoveSubscribers[] = R"sql(
DELETE FROM message.subscribers WHERE channel_key = $1 AND uid = ANY($2::text[]))sql";

constexpr char kListSubscribers[] = R"sql(
SELECT uid FROM message.subscribers WHERE channel_key = $1 AND uid > $2 ORDER BY uid LIMIT $3)sql";

// The uids a cmd to the group's subscribers reaches past a cursor ($2; a deleted group: none).
constexpr char kSubscribersPast[] = R"sql(
SELECT s.uid FROM message.subscribers s
WHERE s.channel_key = $1 AND s.uid > $2
  AND NOT EXISTS (SELECT 1 FROM message.groups g WHERE g.group_id = $3 AND g.deleted)
ORDER BY s.uid LIMIT $4)sql";

constexpr PgStatement kCheckAccess{"message_check_access", R"sql(
SELECT t.i, g.group_id IS NOT NULL AND NOT g.deleted, s.uid IS NOT NULL
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(group_id, channel_key, uid, i)
LEFT JOIN message.groups g ON g.group_id = t.group_id
LEFT JOIN message.subscribers s ON s.channel_key = t.channel_key AND s.uid = t.uid)sql"};

constexpr PgStatement kSubscribersOf{"message_subscribers_of", R"sql(
SELECT channel_key, uid FROM message.subscribers WHERE channel_key = ANY($1::text[]))sql"};

absl::StatusOr<std::string> KeyOf(const std::string& group_id) {
  absl::StatusOr<ChannelKey> key = ChannelKey::Group(group_id);
  if (!key.ok()) return key.status();
  return key->str();
}

absl::Status GroupNotFound(const std::string& group_id) {
  return absl::NotFoundError(absl::StrCat("group ", group_id, " does not exist"));
}

// Runs `fn` in a transaction that holds a share lock on the live group; NOT_FOUND otherwise.
absl::Status WithLiveGroup(PostgresPool* pg, const std::string& group_id,
                           const std::function<void(pqxx::work&)>& fn) {
  bool found = false;
  absl::Status status = pg->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    found = !tx.exec_params(kLockLiveGroup, group_id).empty();
    if (!found) return;
    fn(tx);
    tx.commit();
  });
  if (!status.ok()) return status;
  if (!found) return GroupNotFound(group_id);
  return absl::OkStatus();
}

}  // namespace

ChannelStore::ChannelStore(PostgresPool* pg) : pg_(pg) {
  // The statements of every send to a group and of its fan-out.
  pg_->Prepare({kCheckAccess, kSubscribersOf});
}

absl::StatusOr<GroupRow> ChannelStore::CreateGroup(const std::string& group_id,
                                                   const std::string& name,
                                                   const std::string& extra,
                                                   const std::vector<std::string>& uids) {
  absl::StatusOr<std::string> key = KeyOf(group_id);
  if (!key.ok()) return key.status();
  GroupRow row{group_id, name, extra};
  bool created = false;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result inserted = tx.exec_params(kCreateGroup, group_id, name, extra);
    if (inserted.empty()) return;
    created = true;
    row.created_ms = row.updated_ms = inserted[0][0].as<int64_t>();
    if (!uids.empty()) {
      row.subscriber_count =
          tx.exec_params(kInsertSubscribers, *key, PgArray(uids)).affected_rows();
    }
    tx.commit();
  });
  if (!status.ok()) return status;
  if (!created)
    return absl::AlreadyExistsError(absl::StrCat("group ", group_id, " already exists"));
  return row;
}

absl::StatusOr<GroupRow> ChannelStore::UpdateGroup(const std::string& group_id,
                                                   const std::optional<std::string>& name,
                                                   const std::optional<std::string>& extra) {
  absl::StatusOr<std::string> key = KeyOf(group_id);
  if (!key.ok()) return key.status();
  std::optional<GroupRow> row;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    pqxx::result updated = tx.exec_params(kUpdateGroup, group_id, name ? name->c_str() : nullptr,
                                          extra ? extra->c_str() : nullptr);
    if (updated.empty()) return;
    row = GroupRow{updated[0][0].as<std::string>(), updated[0][1].as<std::string>(),
                   updated[0][2].as<std::string>()};
    row->created_ms = updated[0][3].as<int64_t>();
    row->updated_ms = updated[0][4].as<int64_t>();
    row->subscriber_count = tx.exec_params(kCountSubscribers, *key)[0][0].as<uint32_t>();
    tx.commit();
  });
  if (!status.ok()) return status;
  if (!row.has_value()) return GroupNotFound(group_id);
  return *row;
}

absl::Status ChannelStore::DeleteGroup(const std::string& group_id) {
  bool found = false;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    found = !tx.exec_params(kDeleteGroup, group_id).empty();
    tx.commit();
  });
  if (!status.ok()) return status;
  if (!found) return GroupNotFound(group_id);
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ChannelStore::AddSubscribers(const std::string& group_id,
                                                      const std::vector<std::string>& uids) {
  absl::StatusOr<std::string> key = KeyOf(group_id);
  if (!key.ok()) return key.status();
  uint32_t added = 0;
  absl::Status status = WithLiveGroup(pg_, group_id, [&](pqxx::work& tx) {
    added = tx.exec_params(kInsertSubscribers, *key, PgArray(uids)).affected_rows();
  });
  if (!status.ok()) return status;
  return added;
}

absl::StatusOr<uint32_t> ChannelStore::RemoveSubscribers(const std::string& group_id,
                                                         const std::vector<std::string>& uids) {
  absl::StatusOr<std::string> key = KeyOf(group_id);
  if (!key.ok()) return key.status();
  uint32_t removed = 0;
  absl::Status status = WithLiveGroup(pg_, group_id, [&](pqxx::work& tx) {
    removed = tx.exec_params(kRemoveSubscribers, *key, PgArray(uids)).affected_rows();
  });
  if (!status.ok()) return status;
  return removed;
}

absl::StatusOr<std::vector<std::string>> ChannelStore::ListSubscribers(const std::string& group_id,
                                                                       const std::string& after,
                                                                       uint32_t limit) {
  absl::StatusOr<std::string> key = KeyOf(group_id);
  if (!key.ok()) return key.status();
  std::vector<std::string> uids;
  bool found = false;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    found = !tx.exec_params(kLiveGroup, group_id).empty();
    if (!found) return;
    for (const auto& row : tx.exec_params(kListSubscribers, *key, after, limit)) {
      uids.push_back(row[0].as<std::string>());
    }
  });
  if (!status.ok()) return status;
  if (!found) return GroupNotFound(group_id);
  return uids;
}

absl::StatusOr<std::vector<GroupAccess>> ChannelStore::CheckAccess(
    const std::vector<std::string>& group_ids, const std::vector<std::string>& uids) {
  std::vector<GroupAccess> access;
  if (group_ids.empty()) return access;
  absl::StatusOr<PgRead> read = CheckAccessRead(group_ids, uids, &access);
  if (!read.ok()) return read.status();
  if (absl::Status status = pg_->RunReads({*std::move(read)}); !status.ok()) return status;
  return access;
}

absl::StatusOr<PgRead> ChannelStore::CheckAccessRead(const std::vector<std::string>& group_ids,
                                                     const std::vector<std::string>& uids,
                                                     std::vector<GroupAccess>* access) const {
  std::vector<std::string> keys;
  keys.reserve(group_ids.size());
  for (const std::string& group_id : group_ids) {
    absl::StatusOr<std::string> key = KeyOf(group_id);
    if (!key.ok()) return key.status();
    keys.push_back(*std::move(key));
  }
  const size_t count = group_ids.size();
  return PgRead{{kCheckAccess, {PgArray(group_ids), PgArray(keys), PgArray(uids)}},
                [access, count](const pqxx::result& rows) {
                  access->assign(count, GroupAccess::kNoGroup);
                  for (const auto& row : rows) {
                    const size_t i = row[0].as<size_t>() - 1;
                    if (!row[1].as<bool>()) continue;
                    (*access)[i] =
                        row[2].as<bool>() ? GroupAccess::kSubscriber : GroupAccess::kNotSubscriber;
                  }
                }};
}

std::vector<std::string> ChannelStore::SubscribersPast(pqxx::transaction_base& tx,
                                                       const std::string& channel_key,
                                                       const std::string& after,
                                                       size_t limit) const {
  std::vector<std::string> uids;
  absl::StatusOr<ChannelKey> key = ChannelKey::Parse(channel_key);
  if (!key.ok() || !key->is_group()) return uids;
  for (const auto& row :
       tx.exec_params(kSubscribersPast, channel_key, after, std::string(key->group_id()),
                      static_cast<int64_t>(limit))) {
    uids.push_back(row[0].as<std::string>());
  }
  return uids;
}

absl::StatusOr<std::vector<std::vector<std::string>>> ChannelStore::SubscribersOf(
    const std::vector<std::string>& channel_keys) {
  std::vector<std::vector<std::string>> out(channel_keys.size());
  if (channel_keys.empty()) return out;
  absl::flat_hash_map<std::string, std::vector<std::string>> by_key;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_prepared(kSubscribersOf.name, PgArray(channel_keys))) {
      by_key[row[0].as<std::string>()].push_back(row[1].as<std::string>());
    }
  });
  if (!status.ok()) return status;
  for (size_t i = 0; i < channel_keys.size(); ++i) {
    auto it = by_key.find(channel_keys[i]);
    if (it != by_key.end()) out[i] = it->second;
  }
  return out;
}

}  // namespace im::message
