#include "services/message/cmd_store.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace im::message {
namespace {

#define IM_CMD_COLUMNS                                                                      \
  "c.message_id, c.channel_key, c.from_uid, c.from_device_id, c.client_msg_no, c.payload, " \
  "c.created_ms"

// A cmd to subscribers reaches the subscribers of its live group whose uid is past `cursor`, read
// page by page as it is expanded (a deleted group has none left). Used where `c` is the cmd row.
#define IM_SUBSCRIBERS_PAST(cursor)                         \
  "SELECT s.uid FROM message.subscribers s "                \
  "WHERE s.channel_key = c.channel_key AND s.uid > " cursor \
  " AND NOT EXISTS ("                                       \
  "SELECT 1 FROM message.groups g WHERE g.group_id = substr(c.channel_key, 3) AND g.deleted)"

// Oldest first, as a queue: rows another round holds are skipped, not waited for.
constexpr char kClaimPending[] = "SELECT " IM_CMD_COLUMNS R"sql(
FROM message.cmd_messages c
WHERE c.pending
ORDER BY c.created_ms, c.message_id
LIMIT $1
FOR UPDATE SKIP LOCKED)sql";

// $1 the claimed message ids, oldest first; $2 the round's recipient budget. `walk` visits them in
// that order while budget is left and takes each one's next recipients: the next slice of its
// list, or its next subscribers in uid order past its cursor (each page is read once, and only as
// far as the budget reaches). The sequence rows are upserted in uid order, which is the order
// every round locks them in; each recipient gets its uid's next cmd_seqs in (cmd, recipient)
// order. A cmd to subscribers moves its cursor to the last uid taken and stays pending while its
// group has a subscriber past it, seen in the same snapshot as the page. Returns the new entries
// in (cmd, recipient) order.
constexpr char kExpand[] = R"sql(
WITH RECURSIVE claimed AS (
  SELECT t.ord, c.message_id, c.channel_key, c.created_ms, c.to_subscribers, c.recipients,
         c.expanded, c.expanded_after
  FROM unnest($1::bigint[]) WITH ORDINALITY AS t(message_id, ord)
  JOIN message.cmd_messages c ON c.message_id = t.message_id
), walk AS (
  SELECT 0::bigint AS ord, $2::int AS budget, '{}'::text[] AS uids
  UNION ALL
  SELECT c.ord, w.budget - cardinality(p.uids), p.uids
  FROM walk w
  JOIN claimed c ON c.ord = w.ord + 1
  CROSS JOIN LATERAL (SELECT CASE WHEN c.to_subscribers
    THEN ARRAY()sql" IM_SUBSCRIBERS_PAST("c.expanded_after") R"sql( ORDER BY s.uid LIMIT w.budget)
    ELSE c.recipients[c.expanded + 1:c.expanded + w.budget] END AS uids) p
  WHERE w.budget > 0
), r AS (
  SELECT u.uid, c.message_id, c.created_ms, w.ord, u.pos
  FROM walk w
  JOIN claimed c ON c.ord = w.ord
  CROSS JOIN LATERAL unnest(w.uids) WITH ORDINALITY AS u(uid, pos)
), counts AS (
  SELECT uid, count(*) AS n FROM r GROUP BY uid
), seqs AS (
  INSERT INTO message.cmd_users AS s (uid, last_seq)
  SELECT uid, n FROM counts ORDER BY uid
  ON CONFLICT (uid) DO UPDATE SET last_seq = s.last_seq + excluded.last_seq
  RETURNING uid, last_seq
), numbered AS (
  SELECT r.*, seqs.last_seq - counts.n
              + row_number() OVER (PARTITION BY r.uid ORDER BY r.ord, r.pos) AS cmd_seq
  FROM r JOIN counts USING (uid) JOIN seqs USING (uid)
), progress AS (
  UPDATE message.cmd_messages c
  SET expanded = c.expanded + cardinality(w.uids),
      expanded_after = CASE WHEN c.to_subscribers
                            THEN COALESCE(w.uids[cardinality(w.uids)], c.expanded_after)
                            ELSE c.expanded_after END,
      pending = CASE WHEN c.to_subscribers
                     THEN EXISTS ()sql" IM_SUBSCRIBERS_PAST(
    "COALESCE(w.uids[cardinality(w.uids)], c.expanded_after)") R"sql()
                     ELSE c.expanded + cardinality(w.uids) < cardinality(c.recipients) END
  FROM walk w JOIN claimed walked ON walked.ord = w.ord
  WHERE c.message_id = walked.message_id
), inserted AS (
  INSERT INTO message.cmd_inbox (uid, cmd_seq, message_id, created_ms)
  SELECT uid, cmd_seq, message_id, created_ms FROM numbered
)
SELECT ord, uid, cmd_seq FROM numbered ORDER BY ord, pos)sql";

#undef IM_SUBSCRIBERS_PAST

// Device registration and trimming of a uid exclude each other (shared vs exclusive advisory
// lock), so a trim either sees a new device's row or happens before that device reads anything.
#define IM_DEVICE_LOCK "hashtextextended('message.cmd_devices:' || $1, 0)"

constexpr char kTouchDevice[] = "WITH l AS (SELECT pg_advisory_xact_lock_shared(" IM_DEVICE_LOCK
                                R"sql())
INSERT INTO message.cmd_devices AS d (uid, device_id, acked_seq, seen_ms)
SELECT $1, $2, 0, $3 FROM l
ON CONFLICT (uid, device_id) DO UPDATE SET seen_ms = greatest(d.seen_ms, excluded.seen_ms)
RETURNING d.acked_seq)sql";

// Stops after the first entry that starts past $4 payload bytes (it only says there is more).
constexpr char kReadPage[] = R"sql(
WITH page AS (
  SELECT i.cmd_seq, )sql" IM_CMD_COLUMNS R"sql(
  FROM message.cmd_inbox i
  JOIN message.cmd_messages c ON c.message_id = i.message_id
  WHERE i.uid = $1 AND i.cmd_seq > $2
  ORDER BY i.cmd_seq
  LIMIT $3
), sized AS (
  SELECT page.*,
         sum(octet_length(payload)) OVER (ORDER BY cmd_seq) - octet_length(payload) AS before
  FROM page
)
SELECT cmd_seq, message_id, channel_key, from_uid, from_device_id, client_msg_no, payload,
       created_ms, before + octet_length(payload)
FROM sized WHERE before <= $4 ORDER BY cmd_seq)sql";

constexpr char kLockForAck[] = "SELECT pg_advisory_xact_lock(" IM_DEVICE_LOCK R"sql(),
       COALESCE((SELECT last_seq FROM message.cmd_users WHERE uid = $1), 0))sql";

// The upsert's new row is not visible to the rest of the statement, so the trim point is taken
// from it and from the other devices separately (least() skips a NULL: no other device).
constexpr char kAck[] = R"sql(
WITH d AS (
  INSERT INTO message.cmd_devices AS d (uid, device_id, acked_seq, seen_ms)
  VALUES ($1, $2, $3, $4)
  ON CONFLICT (uid, device_id) DO UPDATE
  SET acked_seq = greatest(d.acked_seq, excluded.acked_seq),
      seen_ms = greatest(d.seen_ms, excluded.seen_ms)
  RETURNING d.acked_seq
)
DELETE FROM message.cmd_inbox
WHERE uid = $1
  AND cmd_seq <= least((SELECT acked_seq FROM d),
                       (SELECT min(acked_seq) FROM message.cmd_devices
                        WHERE uid = $1 AND device_id <> $2)))sql";

#undef IM_DEVICE_LOCK

// Pending cmds keep their rows until fully expanded, so nothing the expander writes is orphaned.
constexpr char kClaimExpired[] = R"sql(
SELECT message_id FROM message.cmd_messages
WHERE created_ms < $1 AND NOT pending
ORDER BY created_ms
LIMIT $2
FOR UPDATE SKIP LOCKED)sql";

constexpr char kDeleteInboxOf[] = R"sql(
DELETE FROM message.cmd_inbox WHERE message_id = ANY($1::bigint[]))sql";

constexpr char kDeleteCmds[] = R"sql(
DELETE FROM message.cmd_messages WHERE message_id = ANY($1::bigint[]))sql";

constexpr char kDeleteDevices[] = R"sql(
DELETE FROM message.cmd_devices
WHERE ctid = ANY(ARRAY(SELECT ctid FROM message.cmd_devices WHERE seen_ms < $1 LIMIT $2)))sql";

#undef IM_CMD_COLUMNS

// IM_CMD_COLUMNS starting at column `first`.
StoredCmd CmdFromRow(const pqxx::row& row, int first) {
  StoredCmd cmd;
  cmd.message_id = static_cast<uint64_t>(row[first].as<int64_t>());
  cmd.channel_key = row[first + 1].as<std::string>();
  cmd.from_uid = row[first + 2].as<std::string>();
  cmd.from_device_id = row[first + 3].as<std::string>();
  cmd.client_msg_no = row[first + 4].as<std::string>();
  cmd.payload = pqxx::binarystring(row[first + 5]).str();
  cmd.created_ms = row[first + 6].as<int64_t>();
  return cmd;
}

}  // namespace

absl::StatusOr<ExpansionRound> CmdStore::Expand(size_t max_cmds, size_t max_recipients) {
  ExpansionRound round;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    round = ExpansionRound{};
    pqxx::work tx(conn);
    std::vector<int64_t> ids;
    for (const auto& row : tx.exec_params(kClaimPending, static_cast<int64_t>(max_cmds))) {
      ExpandedCmd& cmd = round.cmds.emplace_back();
      cmd.cmd = CmdFromRow(row, 0);
      ids.push_back(static_cast<int64_t>(cmd.cmd.message_id));
    }
    if (ids.empty()) return;
    for (const auto& row :
         tx.exec_params(kExpand, PgIntArray(ids), static_cast<int64_t>(max_recipients))) {
      ExpandedCmd& cmd = round.cmds[row[0].as<size_t>() - 1];
      cmd.uids.push_back(row[1].as<std::string>());
      cmd.cmd_seqs.push_back(row[2].as<int64_t>());
      ++round.recipients;
    }
    tx.commit();
  });
  if (!status.ok()) return status;
  return round;
}

absl::StatusOr<CmdPage> CmdStore::Read(const std::string& uid, const std::string& device_id,
                                       int64_t after, uint32_t limit, size_t max_bytes,
                                       int64_t now_ms) {
  CmdPage page;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    page = CmdPage{};
    pqxx::work tx(conn);
    const int64_t acked = tx.exec_params1(kTouchDevice, uid, device_id, now_ms)[0].as<int64_t>();
    const pqxx::result rows =
        tx.exec_params(kReadPage, uid, std::max(after, acked), static_cast<int64_t>(limit) + 1,
                       static_cast<int64_t>(max_bytes));
    for (const auto& row : rows) {
      const bool fits =
          page.entries.empty() ||
          (page.entries.size() < limit && row[8].as<int64_t>() <= static_cast<int64_t>(max_bytes));
      if (!fits) {
        page.has_more = true;
        break;
      }
      CmdInboxEntry& entry = page.entries.emplace_back();
      entry.cmd_seq = row[0].as<int64_t>();
      entry.cmd = CmdFromRow(row, 1);
    }
    tx.commit();
  });
  if (!status.ok()) return status;
  return page;
}

absl::Status CmdStore::Ack(const std::string& uid, const std::string& device_id, int64_t up_to,
                           int64_t now_ms) {
  absl::Status refused;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    refused = absl::OkStatus();
    pqxx::work tx(conn);
    const int64_t last = tx.exec_params1(kLockForAck, uid)[1].as<int64_t>();
    if (up_to > last) {
      refused = absl::InvalidArgumentError(
          absl::StrCat("up_to ", up_to, " is above the last cmd_seq of ", uid, " (", last, ")"));
      return;
    }
    tx.exec_params(kAck, uid, device_id, up_to, now_ms);
    tx.commit();
  });
  if (!status.ok()) return status;
  return refused;
}

absl::StatusOr<CmdSweep> CmdStore::Sweep(int64_t cutoff_ms, size_t chunk) {
  CmdSweep sweep;
  const int64_t limit = static_cast<int64_t>(chunk);
  for (bool more = true; more;) {
    absl::Status status = pg_->Run([&](pqxx::connection& conn) {
      pqxx::work tx(conn);
      std::vector<int64_t> ids;
      for (const auto& row : tx.exec_params(kClaimExpired, cutoff_ms, limit)) {
        ids.push_back(row[0].as<int64_t>());
      }
      more = ids.size() == chunk;
      if (ids.empty()) return;
      const std::string array = PgIntArray(ids);
      sweep.inbox_rows += tx.exec_params(kDeleteInboxOf, array).affected_rows();
      sweep.cmds += tx.exec_params(kDeleteCmds, array).affected_rows();
      tx.commit();
    });
    if (!status.ok()) return status;
  }
  // Only after the inbox rows: a forgotten device that comes back starts from 0 and must not find
  // entries it had acked, and every entry it acked is older than the cutoff.
  for (bool more = true; more;) {
    absl::Status status = pg_->Run([&](pqxx::connection& conn) {
      pqxx::work tx(conn);
      const int64_t deleted = tx.exec_params(kDeleteDevices, cutoff_ms, limit).affected_rows();
      sweep.devices += deleted;
      more = deleted == limit;
      tx.commit();
    });
    if (!status.ok()) return status;
  }
  return sweep;
}

}  // namespace im::message
