#include "services/conversation/conversation_store.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace im::conversation {
namespace {

#define IM_CONVERSATION_COLUMNS                                                                \
  "channel_key, read_seq, read_red_dots, read_own_red_dots, deleted, deleted_to_seq, pinned, " \
  "muted, version, updated_ms"

constexpr PgStatement kUserVersion{"conversation_user_version",
                                   "SELECT version FROM conversation.users WHERE uid = $1"};

constexpr PgStatement kListRows{"conversation_list_rows", "SELECT " IM_CONVERSATION_COLUMNS R"sql(
FROM conversation.conversations WHERE uid = $1)sql"};

constexpr PgStatement kGetRows{"conversation_get_rows", "SELECT " IM_CONVERSATION_COLUMNS R"sql(
FROM conversation.conversations WHERE uid = $1 AND channel_key = ANY($2::text[]))sql"};

constexpr PgStatement kLockUser{"conversation_lock_user",
                                "SELECT version FROM conversation.users WHERE uid = $1 FOR UPDATE"};

constexpr PgStatement kLockRow{"conversation_lock_row", "SELECT " IM_CONVERSATION_COLUMNS R"sql(
FROM conversation.conversations WHERE uid = $1 AND channel_key = $2)sql"};

constexpr PgStatement kBumpUser{"conversation_bump_user", R"sql(
UPDATE conversation.users SET version = version + 1 WHERE uid = $1 RETURNING version)sql"};

constexpr PgStatement kUpdateRow{"conversation_update_row", R"sql(
UPDATE conversation.conversations
SET read_seq = $3, read_red_dots = $4, read_own_red_dots = $5, deleted = $6, deleted_to_seq = $7,
    pinned = $8, muted = $9, version = $10, updated_ms = $11
WHERE uid = $1 AND channel_key = $2)sql"};

// New users start at version 1, so a cursor taken before the user had any conversation (version 0)
// sees the first one as a change. Locks are taken in uid order.
constexpr PgStatement kBumpUsers{"conversation_bump_users", R"sql(
INSERT INTO conversation.users AS u (uid, version)
SELECT DISTINCT uid, 1 FROM unnest($1::text[]) AS t(uid) ORDER BY uid
ON CONFLICT (uid) DO UPDATE SET version = u.version + 1
RETURNING uid, version)sql"};

constexpr PgStatement kInsertRows{"conversation_insert_rows", R"sql(
INSERT INTO conversation.conversations (uid, channel_key, read_seq, read_red_dots,
                                        read_own_red_dots, version, updated_ms)
SELECT t.uid, t.channel_key, t.read_seq, t.red_dots, t.own_red_dots, u.version, $6
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
     AS t(uid, channel_key, read_seq, red_dots, own_red_dots)
JOIN conversation.users u ON u.uid = t.uid
ON CONFLICT DO NOTHING
RETURNING 1)sql"};

constexpr PgStatement kLockUsers{"conversation_lock_users", R"sql(
SELECT uid FROM conversation.users WHERE uid = ANY($1::text[]) ORDER BY uid FOR UPDATE)sql"};

// Users locked above, so the version read here is current: each user with at least one position
// that moves gets version + 1, and its moved rows carry that version. Every row of `moving` knows
// its new version itself; joining the moved rows to the bumped users instead would be planned as a
// nested loop over both lists (quadratic in the batch).
constexpr PgStatement kAdvanceReads{"conversation_advance_reads", R"sql(
WITH moving AS (
  SELECT t.*, u.version + 1 AS version
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
       AS t(uid, channel_key, read_seq, red_dots, own_red_dots)
  JOIN conversation.conversations c ON c.uid = t.uid AND c.channel_key = t.channel_key
  JOIN conversation.users u ON u.uid = t.uid
  WHERE t.read_seq > c.read_seq
), bumped AS (
  UPDATE conversation.users u SET version = u.version + 1
  WHERE u.uid IN (SELECT uid FROM moving)
)
UPDATE conversation.conversations c
SET read_seq = m.read_seq, read_red_dots = m.red_dots, read_own_red_dots = m.own_red_dots,
    version = m.version, updated_ms = $6
FROM moving m
WHERE c.uid = m.uid AND c.channel_key = m.channel_key)sql"};

#undef IM_CONVERSATION_COLUMNS

ConversationRow FromRow(const pqxx::row& row) {
  ConversationRow r;
  r.channel_key = row[0].as<std::string>();
  r.read.read_seq = row[1].as<int64_t>();
  r.read.red_dots = row[2].as<int64_t>();
  r.read.own_red_dots = row[3].as<int64_t>();
  r.deleted = row[4].as<bool>();
  r.deleted_to_seq = row[5].as<int64_t>();
  r.pinned = row[6].as<bool>();
  r.muted = row[7].as<bool>();
  r.version = row[8].as<int64_t>();
  r.updated_ms = row[9].as<int64_t>();
  return r;
}

// The row after `change`, and what moved.
ChangeResult Changed(const ConversationRow& before, const ConversationChange& change) {
  ChangeResult result{before, false, false};
  ConversationRow& after = result.row;
  if (change.read.has_value() && change.read->read_seq != before.read.read_seq &&
      (!change.read_forward_only || change.read->read_seq > before.read.read_seq)) {
    after.read = *change.read;
    result.read_moved = true;
  }
  if (change.delete_to_seq.has_value()) {
    after.deleted = true;
    after.deleted_to_seq = std::max(before.deleted_to_seq, *change.delete_to_seq);
  }
  if (change.pinned.has_value()) after.pinned = *change.pinned;
  if (change.muted.has_value()) after.muted = *change.muted;
  result.changed = result.read_moved || after.deleted != before.deleted ||
                   after.deleted_to_seq != before.deleted_to_seq || after.pinned != before.pinned ||
                   after.muted != before.muted;
  return result;
}

}  // namespace

ConversationStore::ConversationStore(PostgresPool* pg) : pg_(pg) {
  pg_->Prepare({kUserVersion, kListRows, kGetRows, kLockUser, kLockRow, kBumpUser, kUpdateRow,
                kBumpUsers, kInsertRows, kLockUsers, kAdvanceReads});
}

absl::StatusOr<UserConversations> ConversationStore::List(const std::string& uid) {
  UserConversations out;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    // One snapshot for both, so the version covers exactly the rows read.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
    out = UserConversations{};
    const pqxx::result version = tx.exec_prepared(kUserVersion.name, uid);
    if (!version.empty()) out.version = version[0][0].as<int64_t>();
    const pqxx::result rows = tx.exec_prepared(kListRows.name, uid);
    out.rows.reserve(rows.size());
    for (const auto& row : rows) out.rows.push_back(FromRow(row));
    tx.commit();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<ConversationRow>> ConversationStore::Get(
    const std::string& uid, const std::vector<std::string>& channel_keys) {
  std::vector<ConversationRow> out;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    out.clear();
    for (const auto& row : tx.exec_prepared(kGetRows.name, uid, PgArray(channel_keys))) {
      out.push_back(FromRow(row));
    }
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<uint32_t> ConversationStore::Ensure(const std::vector<EnsureRow>& rows,
                                                   int64_t now_ms) {
  if (rows.empty()) return 0u;
  std::vector<std::string> uids, keys;
  std::vector<int64_t> seqs, red_dots, own;
  for (const EnsureRow& row : rows) {
    uids.push_back(row.uid);
    keys.push_back(row.channel_key);
    seqs.push_back(row.start.read_seq);
    red_dots.push_back(row.start.red_dots);
    own.push_back(row.start.own_red_dots);
  }
  const std::string uid_array = PgArray(uids);
  uint32_t created = 0;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_prepared(kBumpUsers.name, uid_array);
    created = tx.exec_prepared(kInsertRows.name, uid_array, PgArray(keys), PgIntArray(seqs),
                               PgIntArray(red_dots), PgIntArray(own), now_ms)
                  .size();
    tx.commit();
  });
  if (!status.ok()) return status;
  return created;
}

absl::StatusOr<ChangeResult> ConversationStore::Apply(const std::string& uid,
                                                      const std::string& channel_key,
                                                      const ConversationChange& change,
                                                      int64_t now_ms) {
  std::optional<ChangeResult> result;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    result.reset();
    if (tx.exec_prepared(kLockUser.name, uid).empty()) return;
    const pqxx::result current = tx.exec_prepared(kLockRow.name, uid, channel_key);
    if (current.empty()) return;
    result = Changed(FromRow(current[0]), change);
    if (result->changed) {
      ConversationRow& row = result->row;
      row.version = tx.exec_prepared(kBumpUser.name, uid)[0][0].as<int64_t>();
      row.updated_ms = now_ms;
      tx.exec_prepared(kUpdateRow.name, uid, channel_key, row.read.read_seq, row.read.red_dots,
                       row.read.own_red_dots, row.deleted, row.deleted_to_seq, row.pinned,
                       row.muted, row.version, row.updated_ms);
    }
    tx.commit();
  });
  if (!status.ok()) return status;
  if (!result.has_value()) {
    return absl::NotFoundError(absl::StrCat("user ", uid, " has no such conversation"));
  }
  return *result;
}

absl::Status ConversationStore::AdvanceReads(const std::vector<ReadAdvanceRow>& rows,
                                             int64_t now_ms) {
  // One position per conversation (the furthest), or the UPDATE would meet a row twice.
  absl::flat_hash_map<std::pair<std::string, std::string>, const ReadAdvanceRow*> furthest;
  for (const ReadAdvanceRow& row : rows) {
    const ReadAdvanceRow*& best = furthest[{row.uid, row.channel_key}];
    if (best == nullptr || row.read.read_seq > best->read.read_seq) best = &row;
  }
  if (furthest.empty()) return absl::OkStatus();
  std::vector<std::string> uids, keys;
  std::vector<int64_t> seqs, red_dots, own;
  for (const auto& [key, row] : furthest) {
    uids.push_back(row->uid);
    keys.push_back(row->channel_key);
    seqs.push_back(row->read.read_seq);
    red_dots.push_back(row->read.red_dots);
    own.push_back(row->read.own_red_dots);
  }
  const std::string uid_array = PgArray(uids);
  return pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_prepared(kLockUsers.name, uid_array);
    tx.exec_prepared(kAdvanceReads.name, uid_array, PgArray(keys), PgIntArray(seqs),
                     PgIntArray(red_dots), PgIntArray(own), now_ms);
    tx.commit();
  });
}

}  // namespace im::conversation
