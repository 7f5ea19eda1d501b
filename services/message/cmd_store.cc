#include "services/message/cmd_store.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace im::message {
namespace {

#define IM_CMD_COLUMNS                                                                      \
  "c.message_id, c.channel_key, c.from_uid, c.from_device_id, c.client_msg_no, c.payload, " \
  "c.created_ms"

constexpr PgStatement kFindCmds{"message_find_cmds", R"sql(
SELECT t.i, m.channel_key, 0, m.message_id, m.from_uid, m.client_msg_no, 0, 0, m.payload,
       m.created_ms
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(channel_key, from_uid,
                                                                     client_msg_no, i)
JOIN message.cmd_messages m ON m.channel_key = t.channel_key AND m.from_uid = t.from_uid
                           AND m.client_msg_no = t.client_msg_no)sql"};

// Recipients: a slice of the flat $10 array, or (to_subscribers) none yet: the expander pages the
// channel's subscribers after the ack, so the send costs the same for any group size.
constexpr char kInsertCmds[] = R"sql(
INSERT INTO message.cmd_messages (message_id, channel_key, from_uid, from_device_id,
                                  client_msg_no, payload, created_ms, recipients, to_subscribers,
                                  pending)
SELECT t.message_id, t.channel_key, t.from_uid, t.from_device_id, t.client_msg_no, t.payload,
       t.created_ms, ($10::text[])[t.first:t.last], t.to_subscribers,
       t.to_subscribers OR t.last >= t.first
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[],
            $7::bigint[], $8::int[], $9::int[], $11::boolean[])
     AS t(message_id, channel_key, from_uid, from_device_id, client_msg_no, payload, created_ms,
          first, last, to_subscribers)
ON CONFLICT DO NOTHING
RETURNING message_id)sql";

// Oldest first, as a queue: rows another round holds are skipped, not waited for. With each cmd
// how far it got and how long its recipient list is.
constexpr char kClaimPending[] = "SELECT " IM_CMD_COLUMNS R"sql(,
       c.to_subscribers, c.expanded, c.expanded_after, cardinality(c.recipients)
FROM message.cmd_messages c
WHERE c.pending
ORDER BY c.created_ms, c.message_id
LIMIT $1
FOR UPDATE SKIP LOCKED)sql";

// The walked cmds in claim order ($1), each with its next recipients: the next $2 of its list, or
// (to subscribers) the uids $3[$4:$5], and its new cursor ($6) and pending ($7). The sequence rows
// are upserted in uid order, which is the order every round locks them in; each recipient gets its
// uid's next cmd_seqs in (cmd, recipient) order. Returns the new entries in that order.
constexpr char kExpand[] = R"sql(
WITH walked AS (
  SELECT t.ord, c.message_id, c.created_ms, t.expanded_after, t.pending,
         CASE WHEN c.to_subscribers THEN ($3::text[])[t.first:t.last]
              ELSE c.recipients[c.expanded + 1:c.expanded + t.listed] END AS uids
  FROM unnest($1::bigint[], $2::int[], $4::int[], $5::int[], $6::text[], $7::boolean[])
       WITH ORDINALITY AS t(message_id, listed, first, last, expanded_after, pending, ord)
  JOIN message.cmd_messages c ON c.message_id = t.message_id
), r AS (
  SELECT u.uid, w.message_id, w.created_ms, w.ord, u.pos
  FROM walked w
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
  SET expanded = c.expanded + cardinality(w.uids), expanded_after = w.expanded_after,
      pending = w.pending
  FROM walked w
  WHERE c.message_id = w.message_id
), inserted AS (
  INSERT INTO message.cmd_inbox (uid, cmd_seq, message_id, created_ms)
  SELECT uid, cmd_seq, message_id, created_ms FROM numbered
)
SELECT ord, uid, cmd_seq FROM numbered ORDER BY ord, pos)sql";

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

// A claimed cmd's progress, and what this round takes of it.
struct Step {
  bool to_subscribers = false;
  int64_t expanded = 0;
  std::string expanded_after;
  int64_t listed = 0;
  // Taken this round: how many of the list, or which subscribers.
  int64_t take = 0;
  std::vector<std::string> subscribers;
  bool pending = false;
};

}  // namespace

CmdStore::CmdStore(PostgresPool* pg, ChannelStore* channels) : pg_(pg), channels_(channels) {
  // The statement of every send batch with cmds that dedupes.
  pg_->Prepare({kFindCmds});
}

PgRead CmdStore::FindCmdsRead(const std::vector<SenderKey>& keys,
                              std::vector<std::optional<StoredMessage>>* found) const {
  return FindBySenderKeys(kFindCmds, keys, found);
}

absl::StatusOr<std::vector<InsertOutcome>> CmdStore::InsertCmds(
    const std::vector<CmdInsert>& cmds) {
  std::vector<InsertOutcome> outcomes(cmds.size());
  if (cmds.empty()) return outcomes;
  std::vector<int64_t> ids, created;
  std::vector<int> firsts, lasts;
  std::vector<std::string> channel_keys, from_uids, from_devices, client_msg_nos, recipients;
  std::vector<std::string> to_subscribers;
  std::vector<const std::string*> payloads;
  std::vector<const StoredMessage*> row_ptrs;
  for (const CmdInsert& cmd : cmds) {
    const StoredMessage& m = cmd.message;
    ids.push_back(static_cast<int64_t>(m.message_id));
    channel_keys.push_back(m.channel_key);
    from_uids.push_back(m.from_uid);
    from_devices.push_back(cmd.from_device_id);
    client_msg_nos.push_back(m.client_msg_no);
    payloads.push_back(&m.payload);
    created.push_back(m.created_ms);
    firsts.push_back(static_cast<int>(recipients.size()) + 1);
    recipients.insert(recipients.end(), cmd.recipients.begin(), cmd.recipients.end());
    lasts.push_back(static_cast<int>(recipients.size()));
    to_subscribers.push_back(cmd.to_subscribers ? "true" : "false");
    row_ptrs.push_back(&m);
  }
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    absl::flat_hash_map<int64_t, size_t> index;
    for (size_t i = 0; i < cmds.size(); ++i) index[ids[i]] = i;
    for (InsertOutcome& outcome : outcomes) {
      outcome = InsertOutcome{};
      outcome.kind = InsertOutcome::Kind::kSuperseded;
    }
    for (const auto& row :
         tx.exec_params(kInsertCmds, PgIntArray(ids), PgArray(channel_keys), PgArray(from_uids),
                        PgArray(from_devices), PgArray(client_msg_nos), ByteaArray(payloads),
                        PgIntArray(created), PgIntArray(firsts), PgIntArray(lasts),
                        PgArray(recipients), PgArray(to_subscribers))) {
      outcomes[index[row[0].as<int64_t>()]].kind = InsertOutcome::Kind::kInserted;
    }
    ResolveSkipped(tx, kFindCmds, row_ptrs, &outcomes);
    tx.commit();
  });
  if (!status.ok()) return status;
  return outcomes;
}

absl::StatusOr<ExpansionRound> CmdStore::Expand(size_t max_cmds, size_t max_recipients) {
  ExpansionRound round;
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    round = ExpansionRound{};
    pqxx::work tx(conn);
    std::vector<Step> steps;
    for (const auto& row : tx.exec_params(kClaimPending, static_cast<int64_t>(max_cmds))) {
      round.cmds.emplace_back().cmd = CmdFromRow(row, 0);
      Step& step = steps.emplace_back();
      step.to_subscribers = row[7].as<bool>();
      step.expanded = row[8].as<int64_t>();
      step.expanded_after = row[9].as<std::string>();
      step.listed = row[10].as<int64_t>();
    }
    if (steps.empty()) return;
    // Walks the cmds in claim order while budget is left. A cmd to subscribers reads one uid past
    // its share, which says whether it stays pending, from the same snapshot as the page.
    int64_t budget = static_cast<int64_t>(max_recipients);
    size_t walked = 0;
    for (; walked < steps.size() && budget > 0; ++walked) {
      Step& step = steps[walked];
      if (step.to_subscribers) {
        step.subscribers =
            channels_->SubscribersPast(tx, round.cmds[walked].cmd.channel_key, step.expanded_after,
                                       static_cast<size_t>(budget) + 1);
        step.pending = static_cast<int64_t>(step.subscribers.size()) > budget;
        if (step.pending) step.subscribers.resize(static_cast<size_t>(budget));
        if (!step.subscribers.empty()) step.expanded_after = step.subscribers.back();
        step.take = static_cast<int64_t>(step.subscribers.size());
      } else {
        step.take = std::min(budget, step.listed - step.expanded);
        step.pending = step.expanded + step.take < step.listed;
      }
      budget -= step.take;
    }
    std::vector<int64_t> ids, listed;
    std::vector<int> firsts, lasts;
    std::vector<std::string> subscribers, cursors, pending;
    for (size_t i = 0; i < walked; ++i) {
      const Step& step = steps[i];
      ids.push_back(static_cast<int64_t>(round.cmds[i].cmd.message_id));
      listed.push_back(step.to_subscribers ? 0 : step.take);
      firsts.push_back(static_cast<int>(subscribers.size()) + 1);
      subscribers.insert(subscribers.end(), step.subscribers.begin(), step.subscribers.end());
      lasts.push_back(static_cast<int>(subscribers.size()));
      cursors.push_back(step.expanded_after);
      pending.push_back(step.pending ? "true" : "false");
    }
    for (const auto& row : tx.exec_params(kExpand, PgIntArray(ids), PgIntArray(listed),
                                          PgArray(subscribers), PgIntArray(firsts),
                                          PgIntArray(lasts), PgArray(cursors), PgArray(pending))) {
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
