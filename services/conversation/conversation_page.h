// How a user's conversation list is computed (read diffusion, DESIGN.md invariant 6) and paged:
// from the user's own rows and the channels' heads, without I/O, so tests can drive every case.
//
// Change detection for incremental sync: the user's own changes carry the user's version (exact,
// they commit in version order); message activity carries the message database's commit clock.
// A commit becomes visible a little after its clock reading, so the cursor keeps a margin: it
// records activity up to (snapshot time - margin) as seen, and lists the heads newer than that
// with the seq seen, so a head inside the margin counts as changed only if its seq moved.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "im/conversation/v1/cursor.pb.h"
#include "services/conversation/conversation_store.h"

namespace im::conversation {

// A channel's committed counters (see im.message.v1.ChannelHead).
struct HeadCounters {
  int64_t last_seq = 0;
  int64_t last_message_ms = 0;
  int64_t red_dots = 0;
  int64_t own_red_dots = 0;
  int64_t activity_ms = 0;
};

// Red-dot messages from others after the read position; never negative.
uint32_t UnreadCount(const ReadMark& read, const HeadCounters& head);

// Whether the conversation is in the user's list at all: a PERSON chat only once it has a message.
bool IsListed(const std::string& channel_key, const HeadCounters& head);

// Deleted and no message since.
bool IsHidden(const ConversationRow& row, const HeadCounters& head);

// The time a conversation sorts by: its last message or the user's last change, whichever is later.
int64_t UpdatedAt(const ConversationRow& row, const HeadCounters& head);

struct PageRequest {
  std::string uid;
  // The user's rows, with heads parallel to them.
  const std::vector<ConversationRow>* rows = nullptr;
  const std::vector<HeadCounters>* heads = nullptr;
  // The user's version and the heads' snapshot time (message database clock, Unix ms).
  int64_t user_version = 0;
  int64_t heads_as_of_ms = 0;
  int64_t activity_margin_ms = 0;
  // Null for a full list from the start.
  const im::conversation::v1::SyncCursor* cursor = nullptr;
  uint32_t limit = 0;
  bool only_unread = false;
  absl::flat_hash_set<int> exclude_channel_types;
};

struct PageEntry {
  // Index into rows/heads.
  size_t index = 0;
  // In deleted_channels rather than conversations.
  bool deleted = false;
};

struct Page {
  // Newest first (updated_at descending, then channel key ascending).
  std::vector<PageEntry> entries;
  bool has_more = false;
  im::conversation::v1::SyncCursor next_cursor;
};

Page BuildPage(const PageRequest& request);

}  // namespace im::conversation
