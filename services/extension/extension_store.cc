#include "services/extension/extension_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace im::extension {
namespace {

#define IM_EXTENSION_COLUMNS                                                               \
  "e.channel_key, e.message_id, e.message_seq, e.status, e.ext, e.version, e.updated_ms, " \
  "e.updated_by"

// The key space is this table's, apart from the message service's channel locks.
constexpr char kLockChannels[] = R"sql(
SELECT pg_advisory_xact_lock(k)
FROM (SELECT DISTINCT hashtextextended('extension.extensions:' || c, 0) AS k
      FROM unnest($1::text[]) AS c ORDER BY k) AS locks)sql";

constexpr char kRead[] = "SELECT t.i, " IM_EXTENSION_COLUMNS R"sql(
FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS t(channel_key, message_id, i)
JOIN extension.extensions e ON e.channel_key = t.channel_key AND e.message_id = t.message_id)sql";

constexpr char kReadForUpdate[] = "SELECT t.i, " IM_EXTENSION_COLUMNS R"sql(
FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS t(channel_key, message_id, i)
JOIN extension.extensions e ON e.channel_key = t.channel_key AND e.message_id = t.message_id
FOR UPDATE OF e)sql";

constexpr char kUpsert[] = R"sql(
INSERT INTO extension.extensions AS e (channel_key, message_id, message_seq, status, ext, version,
                             updated_ms, updated_by)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::integer[], $5::text[],
                     $6::bigint[], $7::bigint[], $8::text[])
ON CONFLICT (channel_key, message_id) DO UPDATE
SET status = excluded.status, ext = excluded.ext, version = excluded.version,
    updated_ms = excluded.updated_ms, updated_by = excluded.updated_by)sql";

constexpr char kLog[] = R"sql(
INSERT INTO extension.operations (channel_key, version, message_id, operator_uid, at_ms, old_status, old_ext,
                        new_status, new_ext)
SELECT channel_key, version, message_id, operator_uid, at_ms,
       CASE WHEN has_old THEN old_status END, CASE WHEN has_old THEN old_ext END,
       new_status, new_ext
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::boolean[],
            $7::integer[], $8::text[], $9::integer[], $10::text[])
     AS t(channel_key, version, message_id, operator_uid, at_ms, has_old, old_status, old_ext,
          new_status, new_ext))sql";

constexpr char kGet[] = "SELECT 0, " IM_EXTENSION_COLUMNS R"sql(
FROM extension.extensions e WHERE e.channel_key = $1 AND e.message_id = ANY($2::bigint[]))sql";

// One statement, so the page and the channel's highest version come from one snapshot; the page
// reads one row more than asked to learn whether more follow.
constexpr char kSince[] = R"sql(
SELECT (SELECT COALESCE(max(version), 0) FROM extension.extensions WHERE channel_key = $1), page.*
FROM (SELECT 1) AS one
LEFT JOIN (SELECT 0 AS i, )sql" IM_EXTENSION_COLUMNS R"sql(
           FROM extension.extensions e WHERE e.channel_key = $1 AND e.version > $2
           ORDER BY e.version LIMIT $3) AS page ON true
ORDER BY page.version)sql";

constexpr char kOperations[] = R"sql(
SELECT channel_key, version, message_id, operator_uid, at_ms, old_status, old_ext, new_status,
       new_ext
FROM extension.operations WHERE channel_key = $1 AND version > $2 ORDER BY version LIMIT $3)sql";

constexpr char kTrim[] = R"sql(
DELETE FROM extension.operations
WHERE ctid = ANY(ARRAY(SELECT ctid FROM extension.operations
                       WHERE created < now() - make_interval(secs => $1::double precision)
                       LIMIT $2)))sql";

#undef IM_EXTENSION_COLUMNS

// Columns as in IM_EXTENSION_COLUMNS, starting at `first`.
StoredExtension FromRow(const pqxx::row& row, int first) {
  StoredExtension e;
  e.channel_key = row[first].as<std::string>();
  e.message_id = static_cast<uint64_t>(row[first + 1].as<int64_t>());
  e.message_seq = row[first + 2].as<int64_t>();
  e.status = row[first + 3].as<int32_t>();
  e.ext = row[first + 4].as<std::string>();
  e.version = row[first + 5].as<int64_t>();
  e.updated_ms = row[first + 6].as<int64_t>();
  e.updated_by = row[first + 7].as<std::string>();
  return e;
}

std::vector<std::optional<StoredExtension>> ReadRefs(pqxx::transaction_base& tx, const char* sql,
                                                     const std::vector<MessageRef>& refs) {
  std::vector<std::optional<StoredExtension>> out(refs.size());
  if (refs.empty()) return out;
  std::vector<std::string> keys;
  std::vector<int64_t> ids;
  for (const MessageRef& ref : refs) {
    keys.push_back(ref.channel_key);
    ids.push_back(static_cast<int64_t>(ref.message_id));
  }
  for (const auto& row : tx.exec_params(sql, PgArray(keys), PgIntArray(ids))) {
    out[row[0].as<size_t>() - 1] = FromRow(row, 1);
  }
  return out;
}

void Write(pqxx::transaction_base& tx, const ExtensionWrites& writes) {
  if (!writes.values.empty()) {
    std::vector<std::string> keys, exts, bys;
    std::vector<int64_t> ids, seqs, versions, updated;
    std::vector<int32_t> statuses;
    for (const StoredExtension& e : writes.values) {
      keys.push_back(e.channel_key);
      ids.push_back(static_cast<int64_t>(e.message_id));
      seqs.push_back(e.message_seq);
      statuses.push_back(e.status);
      exts.push_back(e.ext);
      versions.push_back(e.version);
      updated.push_back(e.updated_ms);
      bys.push_back(e.updated_by);
    }
    tx.exec_params(kUpsert, PgArray(keys), PgIntArray(ids), PgIntArray(seqs), PgIntArray(statuses),
                   PgArray(exts), PgIntArray(versions), PgIntArray(updated), PgArray(bys));
  }
  if (!writes.operations.empty()) {
    std::vector<std::string> keys, operators, old_exts, new_exts, has_old;
    std::vector<int64_t> versions, ids, at;
    std::vector<int32_t> old_statuses, new_statuses;
    for (const Operation& op : writes.operations) {
      keys.push_back(op.channel_key);
      versions.push_back(op.version);
      ids.push_back(static_cast<int64_t>(op.message_id));
      operators.push_back(op.operator_uid);
      at.push_back(op.at_ms);
      has_old.push_back(op.old_status.has_value() ? "t" : "f");
      old_statuses.push_back(op.old_status.value_or(0));
      old_exts.push_back(op.old_ext.value_or(""));
      new_statuses.push_back(op.new_status);
      new_exts.push_back(op.new_ext);
    }
    tx.exec_params(kLog, PgArray(keys), PgIntArray(versions), PgIntArray(ids), PgArray(operators),
                   PgIntArray(at), PgArray(has_old), PgIntArray(old_statuses), PgArray(old_exts),
                   PgIntArray(new_statuses), PgArray(new_exts));
  }
}

}  // namespace

absl::StatusOr<std::vector<std::optional<StoredExtension>>> ExtensionStore::Read(
    const std::vector<MessageRef>& refs) {
  std::vector<std::optional<StoredExtension>> out;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    out = ReadRefs(tx, kRead, refs);
  });
  if (!status.ok()) return status;
  return out;
}

absl::Status ExtensionStore::Apply(const std::vector<MessageRef>& refs, Decide decide) {
  std::vector<std::string> keys;
  for (const MessageRef& ref : refs) keys.push_back(ref.channel_key);
  absl::Status decided;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_params(kLockChannels, PgArray(keys));
    absl::StatusOr<ExtensionWrites> writes = decide(ReadRefs(tx, kReadForUpdate, refs));
    if (!writes.ok()) {
      decided = writes.status();
      return;  // the transaction rolls back
    }
    Write(tx, *writes);
    tx.commit();
  });
  if (!status.ok()) return status;
  return decided;
}

absl::StatusOr<std::vector<StoredExtension>> ExtensionStore::Get(
    const std::string& channel_key, const std::vector<uint64_t>& message_ids) {
  std::vector<StoredExtension> out;
  if (message_ids.empty()) return out;
  std::vector<int64_t> ids(message_ids.begin(), message_ids.end());
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_params(kGet, channel_key, PgIntArray(ids))) {
      out.push_back(FromRow(row, 1));
    }
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<VersionPage> ExtensionStore::ReadSince(const std::string& channel_key,
                                                      int64_t since_version, uint32_t limit) {
  VersionPage page;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    page = VersionPage{};
    for (const auto& row :
         tx.exec_params(kSince, channel_key, since_version, static_cast<int64_t>(limit) + 1)) {
      page.max_version = row[0].as<int64_t>();
      if (row[1].is_null()) continue;
      page.values.push_back(FromRow(row, 2));
    }
  });
  if (!status.ok()) return status;
  if (page.values.size() > limit) {
    page.values.resize(limit);
    page.has_more = true;
  }
  return page;
}

absl::StatusOr<std::vector<Operation>> ExtensionStore::ReadOperations(
    const std::string& channel_key, int64_t after_version, uint32_t limit) {
  std::vector<Operation> out;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    out.clear();
    for (const auto& row :
         tx.exec_params(kOperations, channel_key, after_version, static_cast<int64_t>(limit))) {
      Operation op;
      op.channel_key = row[0].as<std::string>();
      op.version = row[1].as<int64_t>();
      op.message_id = static_cast<uint64_t>(row[2].as<int64_t>());
      op.operator_uid = row[3].as<std::string>();
      op.at_ms = row[4].as<int64_t>();
      if (!row[5].is_null()) {
        op.old_status = row[5].as<int32_t>();
        op.old_ext = row[6].as<std::string>();
      }
      op.new_status = row[7].as<int32_t>();
      op.new_ext = row[8].as<std::string>();
      out.push_back(std::move(op));
    }
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<int64_t> ExtensionStore::TrimOperations(absl::Duration age, int64_t limit) {
  int64_t deleted = 0;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    deleted = tx.exec_params(kTrim, absl::ToDoubleSeconds(age), limit).affected_rows();
    tx.commit();
  });
  if (!status.ok()) return status;
  return deleted;
}

}  // namespace im::extension
