// All SQL of the conversation service (schema `conversation`): each user's own state of their
// conversations and the user's change counter. Every statement that changes a user's rows first
// locks the user's counter row, so changes of one user commit in version order and concurrent
// batches cannot deadlock. Calls block on Postgres; run them on a worker thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/postgres_pool.h"

namespace im::conversation {

// A read position and the channel's red-dot counters at it (see im.message.v1.ReadPosition).
struct ReadMark {
  int64_t read_seq = 0;
  int64_t red_dots = 0;
  int64_t own_red_dots = 0;
};

struct ConversationRow {
  std::string channel_key;
  ReadMark read;
  bool deleted = false;
  int64_t deleted_to_seq = 0;
  bool pinned = false;
  bool muted = false;
  int64_t version = 0;
  int64_t updated_ms = 0;
};

// A user's conversations and change counter, read from one snapshot.
struct UserConversations {
  int64_t version = 0;
  std::vector<ConversationRow> rows;
};

// A conversation that must exist, and where its read position starts if it is new.
struct EnsureRow {
  std::string uid;
  std::string channel_key;
  ReadMark start;
};

// A read position to move forward (never back).
struct ReadAdvanceRow {
  std::string uid;
  std::string channel_key;
  ReadMark read;
};

// One change to one conversation; unset fields stay as they are.
struct ConversationChange {
  std::optional<ReadMark> read;
  // When set, `read` applies only if it is ahead of the current position.
  bool read_forward_only = true;
  // Hide up to this seq (never lowers an earlier delete's seq).
  std::optional<int64_t> delete_to_seq;
  std::optional<bool> pinned;
  std::optional<bool> muted;
};

struct ChangeResult {
  ConversationRow row;
  // False when the change left the row as it was (nothing written, no new version).
  bool changed = false;
  // The read position moved (either way).
  bool read_moved = false;
};

class ConversationStore {
 public:
  // Registers the store's statements with `pg` (PostgresPool::Prepare).
  explicit ConversationStore(PostgresPool* pg);

  absl::StatusOr<UserConversations> List(const std::string& uid);

  // The rows of these channels that exist, in no particular order.
  absl::StatusOr<std::vector<ConversationRow>> Get(const std::string& uid,
                                                   const std::vector<std::string>& channel_keys);

  // Creates the conversations that do not exist yet; returns how many were created.
  absl::StatusOr<uint32_t> Ensure(const std::vector<EnsureRow>& rows, int64_t now_ms);

  // NOT_FOUND when the user has no such conversation.
  absl::StatusOr<ChangeResult> Apply(const std::string& uid, const std::string& channel_key,
                                     const ConversationChange& change, int64_t now_ms);

  // Moves each read position that is behind; rows of conversations that do not exist are skipped.
  absl::Status AdvanceReads(const std::vector<ReadAdvanceRow>& rows, int64_t now_ms);

 private:
  PostgresPool* pg_;
};

}  // namespace im::conversation
