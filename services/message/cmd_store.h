// All SQL of cmd (sync_once) messages and their inboxes (seed 004): storing a sent cmd with its
// recipient list, expanding stored cmds into per-recipient inbox rows, reading and acking a
// device's cursor, and the retention sweep. The tables are cmd_messages, cmd_users, cmd_inbox and
// cmd_devices; the subscribers of a cmd's group come from ChannelStore, read in the expansion's
// transaction. Calls block on Postgres; run them on a worker, a lane or the expander's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/postgres_pool.h"
#include "services/message/channel_store.h"
#include "services/message/stored_message.h"

namespace im::message {

// A cmd message and the uids whose inboxes get it: `recipients`, or with to_subscribers the
// subscribers of its (GROUP) channel as the cmd expander pages them after the ack.
struct CmdInsert {
  StoredMessage message;
  std::string from_device_id;
  bool to_subscribers = false;
  std::vector<std::string> recipients;
};

// A stored cmd message as it is pushed and synced.
struct StoredCmd {
  uint64_t message_id = 0;
  std::string channel_key;
  std::string from_uid;
  // The sending device, which got the SENDACK and is not pushed the cmd; empty for API sends.
  std::string from_device_id;
  std::string client_msg_no;
  std::string payload;
  int64_t created_ms = 0;
};

// One cmd's recipients handled by an expansion round, with the cmd_seq each one got.
struct ExpandedCmd {
  StoredCmd cmd;
  std::vector<std::string> uids;
  std::vector<int64_t> cmd_seqs;
};

// What one expansion round committed.
struct ExpansionRound {
  // Every claimed cmd, oldest first (those past the round's budget with no uids); recipients in
  // the cmd's recipient order (a cmd to subscribers: uid order).
  std::vector<ExpandedCmd> cmds;
  size_t recipients = 0;
};

struct CmdInboxEntry {
  int64_t cmd_seq = 0;
  StoredCmd cmd;
};

// A page of one device's inbox.
struct CmdPage {
  std::vector<CmdInboxEntry> entries;
  bool has_more = false;
};

// Rows removed by one retention sweep.
struct CmdSweep {
  int64_t inbox_rows = 0;
  int64_t cmds = 0;
  int64_t devices = 0;
};

class CmdStore {
 public:
  // Registers the store's hot statements with `pg` (PostgresPool::Prepare). `channels` gives the
  // subscribers of cmds to a group.
  CmdStore(PostgresPool* pg, ChannelStore* channels);

  // The read of the stored cmd for each key (FindBySenderKeys; seq 0), for the caller to run with
  // others (PostgresPool::RunReads). `keys` must not be empty.
  PgRead FindCmdsRead(const std::vector<SenderKey>& keys,
                      std::vector<std::optional<StoredMessage>>* found) const;

  // Inserts cmd messages with their recipient lists, pending expansion (services/message/
  // cmd_expander.h), in one statement; no per-recipient rows, so the cost does not grow with the
  // recipients beyond storing their list. A row whose sender key is taken is a kDuplicate.
  absl::StatusOr<std::vector<InsertOutcome>> InsertCmds(const std::vector<CmdInsert>& cmds);

  // One transaction: claims up to `max_cmds` pending cmds, oldest first, skipping those another
  // round holds; gives the next up to `max_recipients` of their recipients (in cmd order; for a
  // cmd to subscribers, the group's subscribers past its uid cursor, read now through
  // ChannelStore::SubscribersPast in this transaction) inbox rows with the next cmd_seqs of each
  // uid (sequence rows locked in uid order, so concurrent rounds cannot deadlock, and held to
  // commit, so a uid's cmd_seqs commit in increasing order); advances the cmds' progress (count,
  // uid cursor, pending); commits. Nothing is changed when it fails.
  absl::StatusOr<ExpansionRound> Expand(size_t max_cmds, size_t max_recipients);

  // Registers the device (or marks it seen at now_ms) and returns its entries with cmd_seq above
  // both `after` and its acked_seq, in order: at most `limit`, and no entry that starts past
  // `max_bytes` of payload (the first always comes). has_more when an entry was left out.
  absl::StatusOr<CmdPage> Read(const std::string& uid, const std::string& device_id, int64_t after,
                               uint32_t limit, size_t max_bytes, int64_t now_ms);

  // Moves the device's acked_seq up to `up_to` (never down), registering it if new, and deletes
  // the uid's entries every known device has acked. INVALID_ARGUMENT when up_to is above the
  // uid's last cmd_seq.
  absl::Status Ack(const std::string& uid, const std::string& device_id, int64_t up_to,
                   int64_t now_ms);

  // Deletes the inbox rows of cmds created before `cutoff_ms`, those cmds once they are fully
  // expanded, and devices not seen since `cutoff_ms`; in transactions of at most `chunk` cmds.
  absl::StatusOr<CmdSweep> Sweep(int64_t cutoff_ms, size_t chunk);

 private:
  PostgresPool* pg_;
  ChannelStore* channels_;
};

}  // namespace im::message
