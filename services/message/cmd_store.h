// All SQL of the cmd inboxes (seed 004) after the send transaction: expanding stored cmds into
// per-recipient inbox rows, reading and acking a device's cursor, and the retention sweep. Calls
// block on Postgres; run them on a worker or the expander's thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/postgres_pool.h"

namespace im::message {

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
  explicit CmdStore(PostgresPool* pg) : pg_(pg) {}

  // One transaction: claims up to `max_cmds` pending cmds, oldest first, skipping those another
  // round holds; gives the next up to `max_recipients` of their recipients (in cmd order; for a
  // cmd to subscribers, the group's subscribers past its uid cursor, read now) inbox rows with
  // the next cmd_seqs of each uid (sequence rows locked in uid order, so concurrent rounds cannot
  // deadlock, and held to commit, so a uid's cmd_seqs commit in increasing order); advances the
  // cmds' progress (count, uid cursor, pending); commits. Nothing is changed when it fails.
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
};

}  // namespace im::message
