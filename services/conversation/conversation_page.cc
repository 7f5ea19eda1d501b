#include "services/conversation/conversation_page.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "services/conversation/sync_cursor.h"
#include "services/message/public/channel_key.h"

namespace im::conversation {
namespace {

using im::conversation::v1::SyncCursor;

// What the client has, as a cursor describes it.
struct Seen {
  int64_t state_version = 0;
  int64_t activity_ms = 0;
  absl::flat_hash_map<uint64_t, int64_t> recent;
};

Seen SeenBy(const SyncCursor& cursor) {
  Seen seen{cursor.state_version(), cursor.activity_ms(), {}};
  for (const auto& head : cursor.recent()) seen.recent[head.channel_hash()] = head.last_seq();
  return seen;
}

bool Changed(const ConversationRow& row, const HeadCounters& head, const Seen& seen) {
  if (row.version > seen.state_version) return true;
  if (head.activity_ms <= seen.activity_ms) return false;
  auto it = seen.recent.find(Fnv1a64(row.channel_key));
  return it == seen.recent.end() || it->second != head.last_seq;
}

// The cursor that says "everything in this snapshot has been seen".
SyncCursor SnapshotCursor(const PageRequest& request) {
  SyncCursor cursor;
  cursor.set_uid(request.uid);
  cursor.set_state_version(request.user_version);
  const int64_t settled_ms = request.heads_as_of_ms - request.activity_margin_ms;
  cursor.set_activity_ms(settled_ms);
  for (size_t i = 0; i < request.rows->size(); ++i) {
    const HeadCounters& head = (*request.heads)[i];
    if (head.activity_ms <= settled_ms) continue;
    auto* recent = cursor.add_recent();
    recent->set_channel_hash(Fnv1a64((*request.rows)[i].channel_key));
    recent->set_last_seq(head.last_seq);
  }
  return cursor;
}

im::common::v1::ChannelType TypeOf(const std::string& channel_key) {
  absl::StatusOr<ChannelKey> key = ChannelKey::Parse(channel_key);
  return key.ok() && key->is_group() ? im::common::v1::CHANNEL_TYPE_GROUP
                                     : im::common::v1::CHANNEL_TYPE_PERSON;
}

}  // namespace

uint32_t UnreadCount(const ReadMark& read, const HeadCounters& head) {
  const int64_t unread = (head.red_dots - read.red_dots) - (head.own_red_dots - read.own_red_dots);
  return unread > 0 ? static_cast<uint32_t>(unread) : 0;
}

bool IsListed(const std::string& channel_key, const HeadCounters& head) {
  return head.last_seq > 0 || TypeOf(channel_key) == im::common::v1::CHANNEL_TYPE_GROUP;
}

bool IsHidden(const ConversationRow& row, const HeadCounters& head) {
  return row.deleted && head.last_seq <= row.deleted_to_seq;
}

int64_t UpdatedAt(const ConversationRow& row, const HeadCounters& head) {
  return std::max(row.updated_ms, head.last_message_ms);
}

Page BuildPage(const PageRequest& request) {
  const std::vector<ConversationRow>& rows = *request.rows;
  const std::vector<HeadCounters>& heads = *request.heads;
  const SyncCursor* cursor = request.cursor;
  const bool full = cursor == nullptr || cursor->full();
  const Seen seen = cursor == nullptr ? Seen{} : SeenBy(*cursor);
  const bool paging = cursor != nullptr && cursor->has_next();

  struct Candidate {
    int64_t updated_at;
    const std::string* key;
    PageEntry entry;
  };
  auto sorts_before = [](const Candidate& a, const Candidate& b) {
    return std::tie(b.updated_at, *a.key) < std::tie(a.updated_at, *b.key);
  };
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < rows.size(); ++i) {
    const ConversationRow& row = rows[i];
    const HeadCounters& head = heads[i];
    if (!IsListed(row.channel_key, head)) continue;
    if (request.exclude_channel_types.contains(TypeOf(row.channel_key))) continue;
    const bool hidden = IsHidden(row, head);
    if (full ? hidden : !Changed(row, head, seen)) continue;
    if (!hidden && request.only_unread && UnreadCount(row.read, head) == 0) continue;
    Candidate candidate{UpdatedAt(row, head), &row.channel_key, PageEntry{i, hidden}};
    if (paging) {
      const Candidate position{cursor->after_updated_at(), &cursor->after_channel_key(), {}};
      if (!sorts_before(position, candidate)) continue;
    }
    candidates.push_back(candidate);
  }

  Page page;
  const size_t take = std::min<size_t>(candidates.size(), request.limit);
  std::partial_sort(candidates.begin(), candidates.begin() + take, candidates.end(), sorts_before);
  for (size_t i = 0; i < take; ++i) page.entries.push_back(candidates[i].entry);
  page.has_more = candidates.size() > take;

  SyncCursor final_cursor = paging ? cursor->next() : SnapshotCursor(request);
  if (!page.has_more) {
    page.next_cursor = std::move(final_cursor);
    return page;
  }
  if (cursor != nullptr) {
    page.next_cursor = *cursor;
  } else {
    page.next_cursor.set_uid(request.uid);
    page.next_cursor.set_full(true);
  }
  *page.next_cursor.mutable_next() = std::move(final_cursor);
  const Candidate& last = candidates[take - 1];
  page.next_cursor.set_after_updated_at(last.updated_at);
  page.next_cursor.set_after_channel_key(*last.key);
  return page;
}

}  // namespace im::conversation
