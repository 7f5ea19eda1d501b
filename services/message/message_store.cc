#include "services/message/message_store.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"

namespace im::message {
namespace {

#define IM_MESSAGE_COLUMNS                                                                        \
  "m.channel_key, m.seq, m.message_id, m.from_uid, m.client_msg_no, m.red_dot_ordinal, m.flags, " \
  "m.payload, m.created_ms"

constexpr PgStatement kFindMessages{"message_find_messages",
                                    "SELECT t.i, " IM_MESSAGE_COLUMNS R"sql(
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(channel_key, from_uid,
                                                                     client_msg_no, i)
JOIN message.messages m ON m.channel_key = t.channel_key AND m.from_uid = t.from_uid
                       AND m.client_msg_no = t.client_msg_no)sql"};

// Advisory locks on the batch's channels, taken in one order by every committer, so concurrent
// batches serialize per channel without deadlocks. The key space is this table's.
constexpr PgStatement kLockChannels{"message_lock_channels", R"sql(
SELECT pg_advisory_xact_lock(k)
FROM (SELECT DISTINCT hashtextextended('message.messages:' || c, 0) AS k
      FROM unnest($1::text[]) AS c ORDER BY k) AS locks)sql"};

// Decides which rows go in (above the channel head's last seq, sender key not stored, first of
// the batch for its key), numbers their red dots after the head's counts, inserts them and moves
// the heads, all in one statement so everything reads one snapshot taken under the locks. Returns
// each inserted row's ordinality with the counters at it.
constexpr PgStatement kInsertMessages{"message_insert_messages", R"sql(
WITH t AS (
  SELECT t.*, row_number() OVER (PARTITION BY channel_key, from_uid, client_msg_no ORDER BY i) AS n
  FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::smallint[],
              $7::bytea[], $8::bigint[]) WITH ORDINALITY
       AS t(channel_key, seq, message_id, from_uid, client_msg_no, flags, payload, created_ms, i)
), kept AS (
  SELECT t.*, COALESCE(h.red_dots, 0) AS head_red_dots, COALESCE(s.red_dots, 0) AS head_own
  FROM t
  LEFT JOIN message.channel_heads h ON h.channel_key = t.channel_key
  LEFT JOIN message.sender_heads s ON s.channel_key = t.channel_key AND s.uid = t.from_uid
  WHERE t.n = 1 AND t.seq > COALESCE(h.last_seq, 0)
    AND NOT EXISTS (SELECT 1 FROM message.messages m
                    WHERE m.channel_key = t.channel_key AND m.from_uid = t.from_uid
                      AND m.client_msg_no = t.client_msg_no)
), counted AS (
  SELECT kept.*, (flags & 1) = 1 AS red_dot,
         head_red_dots + sum(flags & 1) OVER (PARTITION BY channel_key ORDER BY seq) AS red_dots,
         head_own + sum(flags & 1) OVER (PARTITION BY channel_key, from_uid ORDER BY seq)
           AS own_red_dots
  FROM kept
), inserted AS (
  INSERT INTO message.messages (channel_key, seq, message_id, from_uid, client_msg_no,
                                red_dot_ordinal, flags, payload, created_ms)
  SELECT channel_key, seq, message_id, from_uid, client_msg_no,
         CASE WHEN red_dot THEN red_dots ELSE 0 END, flags, payload, created_ms
  FROM counted
), heads AS (
  INSERT INTO message.channel_heads AS h (channel_key, last_seq, last_message_id, last_message_ms,
                                          red_dots, activity_ms)
  SELECT DISTINCT ON (channel_key) channel_key, seq, message_id, created_ms, red_dots,
         floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint
  FROM counted ORDER BY channel_key, seq DESC
  ON CONFLICT (channel_key) DO UPDATE
  SET last_seq = excluded.last_seq, last_message_id = excluded.last_message_id,
      last_message_ms = excluded.last_message_ms, red_dots = excluded.red_dots,
      activity_ms = excluded.activity_ms
), senders AS (
  INSERT INTO message.sender_heads AS s (channel_key, uid, red_dots)
  SELECT DISTINCT ON (channel_key, from_uid) channel_key, from_uid, own_red_dots
  FROM counted WHERE red_dot ORDER BY channel_key, from_uid, seq DESC
  ON CONFLICT (channel_key, uid) DO UPDATE SET red_dots = excluded.red_dots
)
SELECT i, CASE WHEN red_dot THEN red_dots ELSE 0 END, red_dots, own_red_dots FROM counted)sql"};

constexpr PgStatement kHaveHeads{"message_have_heads", R"sql(
SELECT channel_key FROM message.channel_heads WHERE channel_key = ANY($1::text[]))sql"};

constexpr PgStatement kNow{"message_now", "SELECT floor(extract(epoch FROM now()) * 1000)::bigint"};

// now() is the transaction's start, so no later than the snapshot the heads are read from.
#define IM_HEAD_COLUMNS                                                                \
  "floor(extract(epoch FROM now()) * 1000)::bigint, t.i, COALESCE(h.last_seq, 0), "    \
  "COALESCE(h.last_message_ms, 0), COALESCE(h.red_dots, 0), COALESCE(s.red_dots, 0), " \
  "COALESCE(h.activity_ms, 0)"

constexpr PgStatement kHeads{"message_heads", "SELECT " IM_HEAD_COLUMNS R"sql(
FROM unnest($1::text[]) WITH ORDINALITY AS t(channel_key, i)
LEFT JOIN message.channel_heads h ON h.channel_key = t.channel_key
LEFT JOIN message.sender_heads s ON s.channel_key = t.channel_key AND s.uid = $2)sql"};

// One row per returned message (or one with NULL message columns), by request order, then seq.
constexpr PgStatement kHeadsWithMessages{"message_heads_with_messages",
                                         "SELECT " IM_HEAD_COLUMNS ", " IM_MESSAGE_COLUMNS R"sql(
FROM unnest($1::text[], $3::bigint[]) WITH ORDINALITY AS t(channel_key, hidden_to, i)
LEFT JOIN message.channel_heads h ON h.channel_key = t.channel_key
LEFT JOIN message.sender_heads s ON s.channel_key = t.channel_key AND s.uid = $2
LEFT JOIN LATERAL (SELECT * FROM message.messages m
                   WHERE m.channel_key = t.channel_key AND m.seq > t.hidden_to
                     AND h.last_seq > t.hidden_to
                   ORDER BY m.seq DESC LIMIT $4) m ON true
ORDER BY t.i, m.seq)sql"};

#undef IM_HEAD_COLUMNS

constexpr PgStatement kHeadPositions{"message_head_positions", R"sql(
SELECT u.i, COALESCE(h.last_seq, 0), COALESCE(h.red_dots, 0), COALESCE(s.red_dots, 0)
FROM unnest($2::text[]) WITH ORDINALITY AS u(uid, i)
LEFT JOIN message.channel_heads h ON h.channel_key = $1
LEFT JOIN message.sender_heads s ON s.channel_key = $1 AND s.uid = u.uid)sql"};

// $1 channel key, $2 viewer, $3 read_seq target, $4 unread target (> 0 wins). The viewer's own
// count at the position is taken back from the sender head, since a read position is usually near
// the end of the channel.
constexpr PgStatement kReadPosition{"message_read_position", R"sql(
WITH head AS (
  SELECT COALESCE(max(last_seq), 0) AS last_seq FROM message.channel_heads WHERE channel_key = $1
), pos AS (
  SELECT CASE
    WHEN $4::bigint > 0 THEN COALESCE(
      (SELECT m.seq - 1 FROM message.messages m
       WHERE m.channel_key = $1 AND m.red_dot_ordinal > 0 AND m.from_uid <> $2
       ORDER BY m.seq DESC OFFSET $4::bigint - 1 LIMIT 1), 0)
    WHEN $3::bigint <= 0 OR $3::bigint > head.last_seq THEN head.last_seq
    ELSE $3::bigint END AS seq
  FROM head
)
SELECT pos.seq,
  COALESCE((SELECT m.red_dot_ordinal FROM message.messages m
            WHERE m.channel_key = $1 AND m.seq <= pos.seq AND m.red_dot_ordinal > 0
            ORDER BY m.seq DESC LIMIT 1), 0),
  COALESCE((SELECT s.red_dots FROM message.sender_heads s
            WHERE s.channel_key = $1 AND s.uid = $2), 0)
  - (SELECT count(*) FROM message.messages m
     WHERE m.channel_key = $1 AND m.seq > pos.seq AND m.from_uid = $2 AND m.red_dot_ordinal > 0)
FROM pos)sql"};

constexpr PgStatement kMaxSeq{"message_max_seq", R"sql(
SELECT COALESCE(max(seq), 0) FROM message.messages WHERE channel_key = $1)sql"};

constexpr PgStatement kRangeAscending{"message_range_ascending",
                                      "SELECT 0, " IM_MESSAGE_COLUMNS R"sql(
FROM message.messages m WHERE m.channel_key = $1 AND m.seq BETWEEN $2 AND $3
ORDER BY m.seq LIMIT $4)sql"};

constexpr PgStatement kRangeDescending{"message_range_descending",
                                       "SELECT 0, " IM_MESSAGE_COLUMNS R"sql(
FROM message.messages m WHERE m.channel_key = $1 AND m.seq BETWEEN $2 AND $3
ORDER BY m.seq DESC LIMIT $4)sql"};

constexpr PgStatement kBySeqs{"message_by_seqs", "SELECT 0, " IM_MESSAGE_COLUMNS R"sql(
FROM message.messages m WHERE m.channel_key = $1 AND m.seq = ANY($2::bigint[]))sql"};

constexpr PgStatement kByIds{"message_by_ids", "SELECT 0, " IM_MESSAGE_COLUMNS R"sql(
FROM message.messages m WHERE m.channel_key = $1 AND m.message_id = ANY($2::bigint[]))sql"};

#undef IM_MESSAGE_COLUMNS

}  // namespace

MessageStore::MessageStore(PostgresPool* pg) : pg_(pg) {
  pg_->Prepare({kFindMessages, kLockChannels, kInsertMessages, kHaveHeads, kNow, kHeads,
                kHeadsWithMessages, kHeadPositions, kReadPosition, kMaxSeq, kRangeAscending,
                kRangeDescending, kBySeqs, kByIds});
}

PgRead MessageStore::FindMessagesRead(const std::vector<SenderKey>& keys,
                                      std::vector<std::optional<StoredMessage>>* found) const {
  return FindBySenderKeys(kFindMessages, keys, found);
}

absl::StatusOr<std::vector<InsertOutcome>> MessageStore::InsertMessages(
    const std::vector<StoredMessage>& rows) {
  std::vector<InsertOutcome> outcomes(rows.size());
  if (rows.empty()) return outcomes;
  std::vector<std::string> channel_keys, from_uids, client_msg_nos;
  std::vector<int64_t> seqs, ids, created;
  std::vector<int> flags;
  std::vector<const std::string*> payloads;
  std::vector<const StoredMessage*> row_ptrs;
  for (const StoredMessage& m : rows) {
    channel_keys.push_back(m.channel_key);
    seqs.push_back(m.seq);
    ids.push_back(static_cast<int64_t>(m.message_id));
    from_uids.push_back(m.from_uid);
    client_msg_nos.push_back(m.client_msg_no);
    flags.push_back(m.red_dot ? kFlagRedDot : 0);
    payloads.push_back(&m.payload);
    created.push_back(m.created_ms);
    row_ptrs.push_back(&m);
  }
  std::string keys_array = PgArray(channel_keys);
  const std::vector<PgCall> calls = {
      {kLockChannels, {keys_array}},
      {kInsertMessages,
       {std::move(keys_array), PgIntArray(seqs), PgIntArray(ids), PgArray(from_uids),
        PgArray(client_msg_nos), PgIntArray(flags), ByteaArray(payloads), PgIntArray(created)}}};
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    for (InsertOutcome& outcome : outcomes) {
      outcome = InsertOutcome{};
      outcome.kind = InsertOutcome::Kind::kSuperseded;
    }
    for (const auto& row : ExecPreparedChain(tx, calls)) {
      InsertOutcome& outcome = outcomes[row[0].as<size_t>() - 1];
      outcome.kind = InsertOutcome::Kind::kInserted;
      outcome.red_dot_ordinal = row[1].as<int64_t>();
      outcome.red_dots = row[2].as<int64_t>();
      outcome.own_red_dots = row[3].as<int64_t>();
    }
    // After the commit: a skipped row's key found now was committed by an earlier send.
    ResolveSkipped(tx, kFindMessages, row_ptrs, &outcomes);
  });
  if (!status.ok()) return status;
  return outcomes;
}

PgRead MessageStore::HaveHeadsRead(const std::vector<std::string>& channel_keys,
                                   std::vector<bool>* have) const {
  return {{kHaveHeads, {PgArray(channel_keys)}}, [channel_keys, have](const pqxx::result& rows) {
            absl::flat_hash_set<std::string> found;
            for (const auto& row : rows) found.insert(row[0].as<std::string>());
            have->assign(channel_keys.size(), false);
            for (size_t i = 0; i < channel_keys.size(); ++i) {
              (*have)[i] = found.contains(channel_keys[i]);
            }
          }};
}

absl::StatusOr<HeadsRead> MessageStore::ReadHeads(const std::vector<std::string>& channel_keys,
                                                  const std::string& viewer_uid,
                                                  const std::vector<int64_t>& hidden_to_seqs,
                                                  uint32_t newest_count) {
  HeadsRead read;
  read.heads.resize(channel_keys.size());
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    if (channel_keys.empty()) {
      read.as_of_ms = tx.exec_prepared(kNow.name)[0][0].as<int64_t>();
      return;
    }
    const pqxx::result rows =
        newest_count == 0 ? tx.exec_prepared(kHeads.name, PgArray(channel_keys), viewer_uid)
                          : tx.exec_prepared(kHeadsWithMessages.name, PgArray(channel_keys),
                                             viewer_uid, PgIntArray(hidden_to_seqs), newest_count);
    for (const auto& row : rows) {
      read.as_of_ms = row[0].as<int64_t>();
      HeadRead& head = read.heads[row[1].as<size_t>() - 1];
      head.last_seq = row[2].as<int64_t>();
      head.last_message_ms = row[3].as<int64_t>();
      head.red_dots = row[4].as<int64_t>();
      head.own_red_dots = row[5].as<int64_t>();
      head.activity_ms = row[6].as<int64_t>();
      if (newest_count > 0 && !row[7].is_null())
        head.newest.push_back(StoredMessageFromRow(row, 7));
    }
  });
  if (!status.ok()) return status;
  return read;
}

absl::StatusOr<std::vector<PositionRead>> MessageStore::HeadPositions(
    const std::string& channel_key, const std::vector<std::string>& uids) {
  std::vector<PositionRead> out(uids.size());
  if (uids.empty()) return out;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_prepared(kHeadPositions.name, channel_key, PgArray(uids))) {
      PositionRead& position = out[row[0].as<size_t>() - 1];
      position.read_seq = row[1].as<int64_t>();
      position.red_dots = row[2].as<int64_t>();
      position.own_red_dots = row[3].as<int64_t>();
    }
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<PositionRead> MessageStore::ReadPosition(const std::string& channel_key,
                                                        const std::string& viewer_uid,
                                                        int64_t read_seq, uint32_t unread) {
  PositionRead position;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    const pqxx::row row =
        tx.exec_prepared1(kReadPosition.name, channel_key, viewer_uid, read_seq, int64_t{unread});
    position.read_seq = row[0].as<int64_t>();
    position.red_dots = row[1].as<int64_t>();
    position.own_red_dots = row[2].as<int64_t>();
  });
  if (!status.ok()) return status;
  return position;
}

absl::StatusOr<RangeRead> MessageStore::ReadRange(const std::string& channel_key, int64_t from_seq,
                                                  int64_t to_seq, uint32_t limit,
                                                  bool newest_first) {
  RangeRead read;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    // One snapshot for both statements, so the max seq and the page agree.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
    read.max_seq = tx.exec_prepared(kMaxSeq.name, channel_key)[0][0].as<int64_t>();
    for (const auto& row :
         tx.exec_prepared(newest_first ? kRangeDescending.name : kRangeAscending.name, channel_key,
                          from_seq, to_seq, limit)) {
      read.messages.push_back(StoredMessageFromRow(row, 1));
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
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_prepared(kBySeqs.name, channel_key, PgIntArray(seqs))) {
      out.push_back(StoredMessageFromRow(row, 1));
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
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec_prepared(kByIds.name, channel_key, PgIntArray(signed_ids))) {
      out.push_back(StoredMessageFromRow(row, 1));
    }
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace im::message
