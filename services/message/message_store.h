// All SQL about message history and cmd (sync_once) messages in the `message` schema. Batches
// travel as arrays, so a batch is one statement. Calls block on Postgres; run them on a worker or
// lane thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/postgres_pool.h"

namespace im::message {

// A message row. For cmd messages seq and red_dot_ordinal are 0.
struct StoredMessage {
  std::string channel_key;
  int64_t seq = 0;
  uint64_t message_id = 0;
  std::string from_uid;
  std::string client_msg_no;
  int64_t red_dot_ordinal = 0;
  bool red_dot = false;
  std::string payload;
  int64_t created_ms = 0;
};

// What identifies one send (DESIGN.md invariant 4).
struct SenderKey {
  std::string channel_key;
  std::string from_uid;
  std::string client_msg_no;
};

// A cmd message and the uids whose inboxes get it: `recipients`, or with to_subscribers the
// subscribers of its (GROUP) channel as the cmd expander pages them after the ack.
struct CmdInsert {
  StoredMessage message;
  std::string from_device_id;
  bool to_subscribers = false;
  std::vector<std::string> recipients;
};

// The fate of one row of an insert batch.
struct InsertOutcome {
  enum class Kind {
    kInserted,
    // Another send with the same sender key was committed first; `existing` is it.
    kDuplicate,
    // A later seq of the channel was committed first (only when replicas race): nothing stored,
    // the send may be retried.
    kSuperseded,
  };
  Kind kind = Kind::kInserted;
  std::optional<StoredMessage> existing;
  // History messages only, when inserted: the red_dot_ordinal given to the row (0 unless red_dot),
  // and the counters at the row as its sender's read position (im.message.v1.ReadPosition at its
  // seq): the channel's red-dot messages up to and including it, and of them the sender's own.
  int64_t red_dot_ordinal = 0;
  int64_t red_dots = 0;
  int64_t own_red_dots = 0;
};

// A page of history and the highest committed seq of the channel, read from one snapshot.
struct RangeRead {
  std::vector<StoredMessage> messages;
  int64_t max_seq = 0;
};

// A channel's head as one viewer sees it; all zero for a channel without stored messages.
struct HeadRead {
  int64_t last_seq = 0;
  int64_t last_message_ms = 0;
  int64_t red_dots = 0;
  int64_t own_red_dots = 0;
  int64_t activity_ms = 0;
  // When messages were asked for: the newest messages above the viewer's hidden-to seq, ascending.
  std::vector<StoredMessage> newest;
};

// Heads of many channels from one snapshot, and the database clock (Unix ms) at its start.
struct HeadsRead {
  std::vector<HeadRead> heads;
  int64_t as_of_ms = 0;
};

// A read position and the counters at it (im.message.v1.ReadPosition).
struct PositionRead {
  int64_t read_seq = 0;
  int64_t red_dots = 0;
  int64_t own_red_dots = 0;
};

class MessageStore {
 public:
  // Registers the store's hot statements with `pg` (PostgresPool::Prepare).
  explicit MessageStore(PostgresPool* pg);

  // The stored history message for each key, if any.
  absl::StatusOr<std::vector<std::optional<StoredMessage>>> FindMessages(
      const std::vector<SenderKey>& keys);

  // The stored cmd message for each key, if any.
  absl::StatusOr<std::vector<std::optional<StoredMessage>>> FindCmds(
      const std::vector<SenderKey>& keys);

  // Inserts the rows and moves their channels' heads in one transaction and one round trip. Commits
  // of one channel are serialized and a row whose channel already has a higher seq is not inserted
  // (kSuperseded), so once a seq is visible no lower seq can appear later: readers may treat every
  // gap below the highest visible seq as final (DESIGN.md invariant 3), also with several
  // replicas. Red-dot rows get the ordinals following the channel head's count, in seq order and
  // only for rows actually inserted, so a channel's ordinals are 1..red_dots without gaps; the
  // rows' own red_dot_ordinal is ignored.
  absl::StatusOr<std::vector<InsertOutcome>> InsertMessages(const std::vector<StoredMessage>& rows);

  // For each channel key, whether it has a head (a stored message). Heads are never removed.
  absl::StatusOr<std::vector<bool>> HaveHeads(const std::vector<std::string>& channel_keys);

  // The heads of the channels as `viewer_uid` sees them, in key order, from one snapshot. With
  // newest_count > 0, also up to that many newest messages with seq above hidden_to_seqs[i].
  absl::StatusOr<HeadsRead> ReadHeads(const std::vector<std::string>& channel_keys,
                                      const std::string& viewer_uid,
                                      const std::vector<int64_t>& hidden_to_seqs,
                                      uint32_t newest_count);

  // For each uid, the read position at the channel's head (last seq, red dots, the uid's own), as
  // of one snapshot: where a new member starts with nothing unread.
  absl::StatusOr<std::vector<PositionRead>> HeadPositions(const std::string& channel_key,
                                                          const std::vector<std::string>& uids);

  // The counters at a read position of `viewer_uid`, from one snapshot. With unread > 0 the
  // position is just below the unread-th newest red-dot message from others (0 if there are
  // fewer); otherwise it is read_seq, where 0 or anything above the last seq means the last seq.
  absl::StatusOr<PositionRead> ReadPosition(const std::string& channel_key,
                                            const std::string& viewer_uid, int64_t read_seq,
                                            uint32_t unread);

  // Inserts cmd messages with their recipient lists, pending expansion (services/message/
  // cmd_expander.h), in one statement; no per-recipient rows, so the cost does not grow with the
  // recipients beyond storing their list. A row whose sender key is taken is a kDuplicate.
  absl::StatusOr<std::vector<InsertOutcome>> InsertCmds(const std::vector<CmdInsert>& cmds);

  // Up to `limit` messages of the channel with seq in [from_seq, to_seq]: the lowest ones
  // (newest_first = false) or the highest ones, always returned in ascending seq order, and the
  // channel's highest committed seq as of the same snapshot.
  absl::StatusOr<RangeRead> ReadRange(const std::string& channel_key, int64_t from_seq,
                                      int64_t to_seq, uint32_t limit, bool newest_first);

  // The messages of the channel with these seqs / ids that exist, in no particular order.
  absl::StatusOr<std::vector<StoredMessage>> GetBySeqs(const std::string& channel_key,
                                                       const std::vector<int64_t>& seqs);
  absl::StatusOr<std::vector<StoredMessage>> GetByIds(const std::string& channel_key,
                                                      const std::vector<uint64_t>& ids);

 private:
  PostgresPool* pg_;
};

}  // namespace im::message
