#include "services/message/message_store.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace im::message {
namespace {

// Bit 0 of messages.flags.
constexpr int kFlagRedDot = 1;

#define IM_MESSAGE_COLUMNS                                                                        \
  "m.channel_key, m.seq, m.message_id, m.from_uid, m.client_msg_no, m.red_dot_ordinal, m.flags, " \
  "m.payload, m.created_ms"

constexpr char kFindMessages[] = "SELECT t.i, " IM_MESSAGE_COLUMNS R"sql(
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(channel_key, from_uid,
                                                                     client_msg_no, i)
JOIN message.messages m ON m.channel_key = t.channel_key AND m.from_uid = t.from_uid
                       AND m.client_msg_no = t.client_msg_no)sql";

constexpr char kFindCmds[] = R"sql(
SELECT t.i, m.channel_key, 0, m.message_id, m.from_uid, m.client_msg_no, 0, 0, m.payload,
       m.created_ms
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(channel_key, from_uid,
                                                                     client_msg_no, i)
JOIN message.cmd_messages m ON m.channel_key = t.channel_key AND m.from_uid = t.from_uid
                           AND m.client_msg_no = t.client_msg_no)sql";

// Advisory locks on the batch's channels, taken in one order by every committer, so concurrent
// batches serialize per channel without deadlocks. The key space is this table's.
constexpr char kLockChannels[] = R"sql(
SELECT pg_advisory_xact_lock(k)
FROM (SELECT DISTINCT hashtextextended('message.messages:' || c, 0) AS k
      FROM unnest($1::text[]) AS c ORDER BY k) AS locks)sql";

constexpr char kInsertMessages[] = R"sql(
INSERT INTO message.messages (channel_key, seq, message_id, from_uid, client_msg_no,
                              red_dot_ordinal, flags, payload, created_ms)
SELECT t.*
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[],
            $7::smallint[], $8::bytea[], $9::bigint[])
     AS t(channel_key, seq, message_id, from_uid, client_msg_no, red_dot_ordinal, flags, payload,
          created_ms)
WHERE NOT EXISTS (SELECT 1 FROM message.messages m
                  WHERE m.channel_key = t.channel_key AND m.seq > t.seq)
ON CONFLICT DO NOTHING
RETURNING message_id)sql";

constexpr char kInsertCmds[] = R"sql(
INSERT INTO message.cmd_messages (message_id, channel_key, from_uid, client_msg_no, payload,
                                  created_ms)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bigint[])
ON CONFLICT DO NOTHING
RETURNING message_id)sql";

constexpr char kInsertInbox[] = R"sql(
INSERT INTO message.cmd_inbox (uid, message_id, created_ms)
SELECT r.uid, r.message_id, r.created_ms
FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY AS r(uid, message_id,
                                                                         created_ms, i)
ORDER BY r.i
RETURNING uid, message_id, cmd_seq)sql";

constexpr char kMaxSeq[] = R"sql(
SELECT COALESCE(max(seq), 0) FROM message.messages WHERE channel_key = $1)sql";

constexpr char kRangeAscending[] = "SELECT 0, " IM_MESSAGE_COLUMNS R"sql(
FROM message.messages m WHERE m.channel_key = $1 AND m.seq BETWEEN $2 AND $3
ORDER BY m.seq LIMIT $4)sql";

constexpr char kRangeDescending[] = "SELECT 0, " IM_MESSAGE_COLUMNS R"sql(
FROM message.messages m WHERE m.channel_key = $1 AND m.seq BETWEEN $2 AND $3
ORDER BY m.seq DESC LIMIT $4)sql";

constexpr char kBySeqs[] = "SELECT 0, " IM_MESSAGE_COLUMNS R"sql(
FROM message.messages m WHERE m.channel_key = $1 AND m.seq = ANY($2::bigint[]))sql";

constexpr char kByIds[] = "SELECT 0, " IM_MESSAGE_COLUMNS R"sql(
FROM message.messages m WHERE m.channel_key = $1 AND m.message_id = ANY($2::bigint[]))sql";

#undef IM_MESSAGE_COLUMNS

// A bytea[] literal in hex format, e.g. {"\\x0aff"}.
std::string ByteaArray(const std::vector<const std::string*>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    absl::StrAppend(&out, "\"\\\\x", absl::BytesToHexString(*values[i]), "\"");
  }
  out.push_back('}');
  return out;
}

// Columns as in IM_MESSAGE_COLUMNS, after a leading ordinal column.
StoredMessage FromRow(const pqxx::row& row) {
  StoredMessage m;
  m.channel_key = row[1].as<std::string>();
  m.seq = row[2].as<int64_t>();
  m.message_id = static_cast<uint64_t>(row[3].as<int64_t>());
  m.from_uid = row[4].as<std::string>();
  m.client_msg_no = row[5].as<std::string>();
  m.red_dot_ordinal = row[6].as<int64_t>();
  m.red_dot = (row[7].as<int>() & kFlagRedDot) != 0;
  m.payload = pqxx::binarystring(row[8]).str();
  m.created_ms = row[9].as<int64_t>();
  return m;
}

struct KeyArrays {
  std::string channel_keys, from_uids, client_msg_nos;
};

KeyArrays ToArrays(const std::vector<SenderKey>& keys) {
  std::vector<std::string> channel_keys, from_uids, client_msg_nos;
  for (const SenderKey& key : keys) {
    channel_keys.push_back(key.channel_key);
    from_uids.push_back(key.from_uid);
    client_msg_nos.push_back(key.client_msg_no);
  }
  return {PgArray(channel_keys), PgArray(from_uids), PgArray(client_msg_nos)};
}

std::vector<std::optional<StoredMessage>> Find(pqxx::transaction_base& tx, const char* sql,
                                               const std::vector<SenderKey>& keys) {
  std::vector<std::optional<StoredMessage>> out(keys.size());
  if (keys.empty()) return out;
  const KeyArrays arrays = ToArrays(keys);
  for (const auto& row :
       tx.exec_params(sql, arrays.channel_keys, arrays.from_uids, arrays.client_msg_nos)) {
    out[row[0].as<size_t>() - 1] = FromRow(row);
  }
  return out;
}

SenderKey KeyOf(const StoredMessage& m) { return {m.channel_key, m.from_uid, m.client_msg_no}; }

// Resolves rows the insert skipped: a committed send with the same key makes it a duplicate.
void ResolveSkipped(pqxx::transaction_base& tx, const char* find_sql,
                    const std::vector<const StoredMessage*>& rows,
                    std::vector<InsertOutcome>* outcomes) {
  std::vector<size_t> skipped;
  std::vector<SenderKey> keys;
  for (size_t i = 0; i < rows.size(); ++i) {
    if ((*outcomes)[i].kind == InsertOutcome::Kind::kSuperseded) {
      skipped.push_back(i);
      keys.push_back(KeyOf(*rows[i]));
    }
  }
  const std::vector<std::optional<StoredMessage>> found = Find(tx, find_sql, keys);
  for (size_t j = 0; j < skipped.size(); ++j) {
    if (!found[j].has_value()) continue;
    (*outcomes)[skipped[j]].kind = InsertOutcome::Kind::kDuplicate;
    (*outcomes)[skipped[j]].existing = found[j];
  }
}

}  // namespace

absl::StatusOr<std::vector<std::optional<StoredMessage>>> MessageStore::FindMessages(
    const std::vector<SenderKey>& keys) {
  std::vector<std::optional<StoredMessage>> out;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    out = Find(tx, kFindMessages, keys);
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<std::optional<StoredMessage>>> MessageStore::FindCmds(
    const std::vector<SenderKey>& keys) {
  std::vector<std::optional<StoredMessage>> out;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    out = Find(tx, kFindCmds, keys);
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<InsertOutcome>> MessageStore::InsertMessages(
    const std::vector<StoredMessage>& rows) {
  std::vector<InsertOutcome> outcomes(rows.size());
  if (rows.empty()) return outcomes;
  std::vector<std::string> channel_keys, from_uids, client_msg_nos;
  std::vector<int64_t> seqs, ids, ordinals, created;
  std::vector<int> flags;
  std::vector<const std::string*> payloads;
  std::vector<const StoredMessage*> row_ptrs;
  for (const StoredMessage& m : rows) {
    channel_keys.push_back(m.channel_key);
    seqs.push_back(m.seq);
    ids.push_back(static_cast<int64_t>(m.message_id));
    from_uids.push_back(m.from_uid);
    client_msg_nos.push_back(m.client_msg_no);
    ordinals.push_back(m.red_dot_ordinal);
    flags.push_back(m.red_dot ? kFlagRedDot : 0);
    payloads.push_back(&m.payload);
    created.push_back(m.created_ms);
    row_ptrs.push_back(&m);
  }
  const std::string keys_array = PgArray(channel_keys);
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_params(kLockChannels, keys_array);
    absl::flat_hash_map<int64_t, bool> inserted;
    for (const auto& row :
         tx.exec_params(kInsertMessages, keys_array, PgIntArray(seqs), PgIntArray(ids),
                        PgArray(from_uids), PgArray(client_msg_nos), PgIntArray(ordinals),
                        PgIntArray(flags), ByteaArray(payloads), PgIntArray(created))) {
      inserted[row[0].as<int64_t>()] = true;
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      outcomes[i] = InsertOutcome{};
      if (!inserted.contains(ids[i])) outcomes[i].kind = InsertOutcome::Kind::kSuperseded;
    }
    ResolveSkipped(tx, kFindMessages, row_ptrs, &outcomes);
    tx.commit();
  });
  if (!status.ok()) return status;
  return outcomes;
}

absl::StatusOr<std::vector<InsertOutcome>> MessageStore::InsertCmds(
    const std::vector<CmdInsert>& cmds) {
  std::vector<InsertOutcome> outcomes(cmds.size());
  if (cmds.empty()) return outcomes;
  std::vector<int64_t> ids, created;
  std::vector<std::string> channel_keys, from_uids, client_msg_nos;
  std::vector<const std::string*> payloads;
  std::vector<const StoredMessage*> row_ptrs;
  for (const CmdInsert& cmd : cmds) {
    const StoredMessage& m = cmd.message;
    ids.push_back(static_cast<int64_t>(m.message_id));
    channel_keys.push_back(m.channel_key);
    from_uids.push_back(m.from_uid);
    client_msg_nos.push_back(m.client_msg_no);
    payloads.push_back(&m.payload);
    created.push_back(m.created_ms);
    row_ptrs.push_back(&m);
  }
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    absl::flat_hash_map<int64_t, size_t> index;
    for (size_t i = 0; i < cmds.size(); ++i) index[ids[i]] = i;
    std::vector<bool> inserted(cmds.size(), false);
    for (const auto& row :
         tx.exec_params(kInsertCmds, PgIntArray(ids), PgArray(channel_keys), PgArray(from_uids),
                        PgArray(client_msg_nos), ByteaArray(payloads), PgIntArray(created))) {
      inserted[index[row[0].as<int64_t>()]] = true;
    }
    std::vector<std::string> inbox_uids;
    std::vector<int64_t> inbox_ids, inbox_created;
    for (size_t i = 0; i < cmds.size(); ++i) {
      outcomes[i] = InsertOutcome{};
      if (!inserted[i]) {
        outcomes[i].kind = InsertOutcome::Kind::kSuperseded;
        continue;
      }
      for (const std::string& uid : cmds[i].recipients) {
        inbox_uids.push_back(uid);
        inbox_ids.push_back(ids[i]);
        inbox_created.push_back(created[i]);
      }
    }
    if (!inbox_uids.empty()) {
      for (const auto& row : tx.exec_params(kInsertInbox, PgArray(inbox_uids),
                                            PgIntArray(inbox_ids), PgIntArray(inbox_created))) {
        outcomes[index[row[1].as<int64_t>()]].recipients.push_back(
            CmdRecipient{row[0].as<std::string>(), row[2].as<int64_t>()});
      }
    }
    ResolveSkipped(tx, kFindCmds, row_ptrs, &outcomes);
    tx.commit();
  });
  if (!status.ok()) return status;
  return outcomes;
}

absl::StatusOr<RangeRead> MessageStore::ReadRange(const std::string& channel_key, int64_t from_seq,
                                                  int64_t to_seq, uint32_t limit,
                                                  bool newest_first) {
  RangeRead read;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    // One snapshot for both statements, so the max seq and the page agree.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
    read.max_seq = tx.exec_params(kMaxSeq, channel_key)[0][0].as<int64_t>();
    for (const auto& row : tx.exec_params(newest_first ? kRangeDescending : kRangeAscending,
                                          channel_key, from_seq, to_seq, limit)) {
      read.messages.push_back(FromRow(row));
    }
    tx.commit();
  });
  if (!status.ok()) return status;
  if (newest_first) std::reverse(read.messages.begin(), read.messages.end());
  return read;
}

absl::StatusOr<std::vector<StoredMessage>> MessageStore::GetBySeqs(
    const std::string& channel_key, const std::vector<int64_t>& seqs) {
  std::vector<StoredMessage> out;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    for (const auto& row : tx.exec_params(kBySeqs, channel_key, PgIntArray(seqs))) {
      out.push_back(FromRow(row));
    }
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<StoredMessage>> MessageStore::GetByIds(
    const std::string& channel_key, const std::vector<uint64_t>& ids) {
  std::vector<int64_t> signed_ids(ids.begin(), ids.end());
  std::vector<StoredMessage> out;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    for (const auto& row : tx.exec_params(kByIds, channel_key, PgIntArray(signed_ids))) {
      out.push_back(FromRow(row));
    }
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace im::message
