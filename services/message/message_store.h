// All SQL of channel history in the `message` schema: the messages and the heads that sum them up
// (channel_heads, sender_heads), which the insert keeps in the same statement under the channel's
// lock. Batches travel as arrays, so a batch is one statement. Calls block on Postgres; run them on
// a worker or lane thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/postgres_pool.h"
#include "services/message/stored_message.h"

namespace im::message {

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

  // The read of the stored history message for each key (FindBySenderKeys), for the caller to
  // run with others (PostgresPool::RunReads). `keys` must not be empty.
  PgRead FindMessagesRead(const std::vector<SenderKey>& keys,
                          std::vector<std::optional<StoredMessage>>* found) const;

  // Inserts the rows and moves their channels' heads in one transaction and one round trip. Commits
  // of one channel are serialized and a row whose channel already has a higher seq is not inserted
  // (kSuperseded), so once a seq is visible no lower seq can appear later: readers may treat every
  // gap below the highest visible seq as final (DESIGN.md invariant 3), also with several
  // replicas. Red-dot rows get the ordinals following the channel head's count, in seq order and
  // only for rows actually inserted, so a channel's ordinals are 1..red_dots without gaps; the
  // rows' own red_dot_ordinal is ignored.
  absl::StatusOr<std::vector<InsertOutcome>> InsertMessages(const std::vector<StoredMessage>& rows);

  // The read of whether each channel key has a head (a stored message), into (*have)[i], for the
  // caller to run with others. Heads are never removed. `channel_keys` must not be empty.
  PgRead HaveHeadsRead(const std::vector<std::string>& channel_keys, std::vector<bool>* have) const;

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
