// What the send path stores, in channel history (MessageStore) or as a cmd (CmdStore), and the
// Postgres encoding both stores share: a stored row comes back as the StoredMessage columns, a
// batch of sender keys travels as three arrays, and a send whose insert was skipped is resolved
// against the row that holds its sender key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/postgres_pool.h"

namespace im::message {

// Bit 0 of a stored message's flags column.
inline constexpr int kFlagRedDot = 1;

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

// The columns a statement returns for a StoredMessage, in this order from column `first`:
// channel_key, seq, message_id, from_uid, client_msg_no, red_dot_ordinal, flags (bit 0: red dot),
// payload, created_ms. A row of a table without a column gives a constant (cmds: seq 0).
StoredMessage StoredMessageFromRow(const pqxx::row& row, int first);

// A bytea[] literal in hex format, e.g. {"\\x0aff"}.
std::string ByteaArray(const std::vector<const std::string*>& values);

// The read of `find`, a statement taking the keys as $1 channel keys, $2 from uids and $3
// client_msg_nos (text[]) and returning each stored row as its key's ordinal (from 1) followed by
// the StoredMessage columns: fills (*found)[i] for keys[i], which stays empty when nothing is
// stored under it.
PgRead FindBySenderKeys(const PgStatement& find, const std::vector<SenderKey>& keys,
                        std::vector<std::optional<StoredMessage>>* found);

// After an insert of `rows` in which the rows still kSuperseded were skipped: those whose sender
// key `find` now finds were committed by an earlier send, and become kDuplicate with it.
void ResolveSkipped(pqxx::transaction_base& tx, const PgStatement& find,
                    const std::vector<const StoredMessage*>& rows,
                    std::vector<InsertOutcome>* outcomes);

}  // namespace im::message
