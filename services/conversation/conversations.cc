#include "services/conversation/conversations.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reason_codes.h"
#include "services/conversation/sync_cursor.h"
#include "services/message/public/channel_key.h"

namespace im::conversation {
namespace {

using im::common::v1::Channel;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// The channel of a key this service stored, as `uid` sees it; INTERNAL for a key that is not one.
absl::StatusOr<Channel> StoredChannel(const std::string& channel_key, const std::string& uid) {
  absl::StatusOr<ChannelKey> key = ChannelKey::Parse(channel_key);
  if (!key.ok()) return absl::InternalError(key.status().message());
  return key->AsSeenBy(uid);
}

HeadCounters CountersOf(const im::message::v1::ChannelHead& head) {
  return {head.last_seq(), head.last_message_ms(), head.red_dots(), head.own_red_dots(),
          head.activity_ms()};
}

ReadMark MarkOf(const im::message::v1::ReadPosition& position) {
  return {position.read_seq(), position.red_dots(), position.own_red_dots()};
}

// Reading everything up to the head.
ReadMark HeadMark(const HeadCounters& head) {
  return {head.last_seq, head.red_dots, head.own_red_dots};
}

v1::ConversationState StateOf(const Channel& channel, const ConversationRow& row,
                              const HeadCounters& head) {
  v1::ConversationState state;
  *state.mutable_channel() = channel;
  state.set_read_seq(row.read.read_seq);
  state.set_unread(UnreadCount(row.read, head));
  state.set_pinned(row.pinned);
  state.set_muted(row.muted);
  state.set_deleted_to_seq(row.deleted_to_seq);
  state.set_updated_at(row.updated_ms);
  return state;
}

absl::Status ValidateUid(const std::string& uid) { return ValidateId(uid, "uid"); }

// A read position another service hands in: the red dots up to read_seq are at most one per seq,
// and this uid's own are among them. Anything else would be kept by the forward-only rule and
// leave the conversation unreadable for good.
absl::StatusOr<ReadMark> ParseMark(int64_t read_seq, int64_t red_dots, int64_t own_red_dots) {
  if (read_seq < 0 || red_dots < 0 || own_red_dots < 0) {
    return absl::InvalidArgumentError("read position counters must not be negative");
  }
  if (red_dots > read_seq || own_red_dots > red_dots) {
    return absl::InvalidArgumentError(absl::StrCat("inconsistent read position: read_seq ",
                                                   read_seq, ", red_dots ", red_dots,
                                                   ", own_red_dots ", own_red_dots));
  }
  return ReadMark{read_seq, red_dots, own_red_dots};
}

}  // namespace

Conversations::Conversations(ConversationStore* store, MessageClient* messages, Options options)
    : store_(store), messages_(messages), options_(options) {}

absl::StatusOr<std::vector<im::message::v1::ChannelHead>> Conversations::FetchHeads(
    const std::string& uid, const HeadsQuery& query, int64_t* as_of_ms) {
  std::vector<im::message::v1::ChannelHead> heads;
  heads.reserve(query.channels.size());
  *as_of_ms = NowMs();
  for (size_t start = 0; start < query.channels.size(); start += options_.heads_chunk) {
    const size_t end = std::min(query.channels.size(), start + options_.heads_chunk);
    HeadsQuery chunk;
    chunk.with_messages = query.with_messages;
    chunk.msg_count = query.msg_count;
    chunk.channels.assign(query.channels.begin() + start, query.channels.begin() + end);
    if (!query.hidden_to_seqs.empty()) {
      chunk.hidden_to_seqs.assign(query.hidden_to_seqs.begin() + start,
                                  query.hidden_to_seqs.begin() + end);
    }
    auto response = messages_->GetHeads(uid, chunk);
    if (!response.ok()) return response.status();
    for (auto& head : *response->mutable_heads()) heads.push_back(std::move(head));
    *as_of_ms = std::min(*as_of_ms, response->as_of_ms());
  }
  return heads;
}

absl::StatusOr<std::vector<HeadCounters>> Conversations::LoadHeads(
    const std::string& uid, const std::vector<std::string>& keys, int64_t* as_of_ms) {
  HeadsQuery query;
  for (const std::string& key : keys) {
    absl::StatusOr<Channel> channel = StoredChannel(key, uid);
    if (!channel.ok()) return channel.status();
    query.channels.push_back(*std::move(channel));
  }
  auto heads = FetchHeads(uid, query, as_of_ms);
  if (!heads.ok()) return heads.status();
  std::vector<HeadCounters> counters;
  counters.reserve(heads->size());
  for (const auto& head : *heads) counters.push_back(CountersOf(head));
  return counters;
}

absl::Status Conversations::Sync(const v1::SyncRequest& request, v1::SyncResponse* response) {
  if (absl::Status s = ValidateUid(request.uid()); !s.ok()) return s;
  im::conversation::v1::SyncCursor cursor;
  if (!request.cursor().empty()) {
    auto decoded = DecodeCursor(request.cursor(), request.uid());
    if (!decoded.ok()) return decoded.status();
    cursor = *std::move(decoded);
  }
  PageRequest page_request;
  for (int type : request.exclude_channel_types()) {
    if (!im::common::v1::ChannelType_IsValid(type) ||
        type == im::common::v1::CHANNEL_TYPE_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("exclude_channel_types: unknown channel type ", type));
    }
    page_request.exclude_channel_types.insert(type);
  }
  const uint32_t limit =
      request.limit() == 0 ? options_.default_limit : std::min(request.limit(), options_.max_limit);

  auto user = store_->List(request.uid());
  if (!user.ok()) return user.status();
  const uint32_t msg_count = std::min(request.msg_count(), options_.max_msg_count);
  // When the whole list fits one page, its messages are read with the counters: one call, not two.
  const bool one_call = user->rows.size() <= limit;
  HeadsQuery query;
  query.with_messages = one_call;
  query.msg_count = msg_count;
  for (const ConversationRow& row : user->rows) {
    absl::StatusOr<Channel> channel = StoredChannel(row.channel_key, request.uid());
    if (!channel.ok()) return channel.status();
    query.channels.push_back(*std::move(channel));
    if (one_call) query.hidden_to_seqs.push_back(row.deleted_to_seq);
  }
  int64_t as_of_ms = 0;
  auto heads = FetchHeads(request.uid(), query, &as_of_ms);
  if (!heads.ok()) return heads.status();
  std::vector<HeadCounters> counters;
  counters.reserve(heads->size());
  for (const auto& head : *heads) counters.push_back(CountersOf(head));

  page_request.uid = request.uid();
  page_request.rows = &user->rows;
  page_request.heads = &counters;
  page_request.user_version = user->version;
  page_request.heads_as_of_ms = as_of_ms;
  page_request.activity_margin_ms = absl::ToInt64Milliseconds(options_.activity_margin);
  page_request.cursor = request.cursor().empty() ? nullptr : &cursor;
  page_request.limit = limit;
  page_request.only_unread = request.only_unread();
  const Page page = BuildPage(page_request);

  // Otherwise the page's visible conversations get their last and recent messages, and the
  // counters of that later read, in one more call.
  HeadsQuery page_query;
  page_query.with_messages = true;
  page_query.msg_count = msg_count;
  std::vector<size_t> shown;
  for (const PageEntry& entry : page.entries) {
    const ConversationRow& row = user->rows[entry.index];
    if (entry.deleted) {
      *response->add_deleted_channels() = query.channels[entry.index];
      continue;
    }
    shown.push_back(entry.index);
    if (!one_call) {
      page_query.channels.push_back(query.channels[entry.index]);
      page_query.hidden_to_seqs.push_back(row.deleted_to_seq);
    }
  }
  std::vector<im::message::v1::ChannelHead> page_heads;
  if (!one_call && !shown.empty()) {
    int64_t ignored_ms = 0;
    auto fetched = FetchHeads(request.uid(), page_query, &ignored_ms);
    if (!fetched.ok()) return fetched.status();
    page_heads = *std::move(fetched);
  }
  for (size_t i = 0; i < shown.size(); ++i) {
    im::message::v1::ChannelHead& head = one_call ? (*heads)[shown[i]] : page_heads[i];
    const ConversationRow& row = user->rows[shown[i]];
    const HeadCounters head_counters = CountersOf(head);
    v1::Conversation* conversation = response->add_conversations();
    *conversation->mutable_channel() = query.channels[shown[i]];
    if (head.has_last_message()) *conversation->mutable_last_message() = head.last_message();
    conversation->set_last_seq(head_counters.last_seq);
    conversation->set_read_seq(row.read.read_seq);
    conversation->set_unread(UnreadCount(row.read, head_counters));
    conversation->set_updated_at(UpdatedAt(row, head_counters));
    conversation->set_pinned(row.pinned);
    conversation->set_muted(row.muted);
    conversation->mutable_recents()->Swap(head.mutable_recents());
    conversation->set_deleted_to_seq(row.deleted_to_seq);
  }
  response->set_next_cursor(EncodeCursor(page.next_cursor));
  response->set_has_more(page.has_more);
  return absl::OkStatus();
}

absl::Status Conversations::GetChannelSeqs(const v1::GetChannelSeqsRequest& request,
                                           v1::GetChannelSeqsResponse* response) {
  if (absl::Status s = ValidateUid(request.uid()); !s.ok()) return s;
  if (static_cast<size_t>(request.channels_size()) > options_.max_items) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", options_.max_items, " channels per call"));
  }
  const bool everything = request.channels().empty();
  std::vector<ConversationRow> rows;
  // Per entry of the answer: its row in `rows`, or why the requested channel has none.
  std::vector<absl::StatusOr<size_t>> entries;
  if (everything) {
    auto user = store_->List(request.uid());
    if (!user.ok()) return user.status();
    rows = std::move(user->rows);
  } else {
    std::vector<absl::StatusOr<ChannelKey>> given;
    std::vector<std::string> keys;
    for (const Channel& channel : request.channels()) {
      given.push_back(ChannelKey::For(request.uid(), channel));
      if (given.back().ok()) keys.push_back(given.back()->str());
    }
    auto found = store_->Get(request.uid(), keys);
    if (!found.ok()) return found.status();
    absl::flat_hash_map<std::string, size_t> row_of;
    for (ConversationRow& row : *found) {
      row_of.emplace(row.channel_key, rows.size());
      rows.push_back(std::move(row));
    }
    for (int i = 0; i < request.channels_size(); ++i) {
      if (!given[i].ok()) {
        entries.push_back(given[i].status());
      } else if (auto it = row_of.find(given[i]->str()); it != row_of.end()) {
        entries.push_back(it->second);
      } else {
        entries.push_back(
            absl::NotFoundError(absl::StrCat("user ", request.uid(), " has no conversation with ",
                                             DescribeChannel(request.channels(i)))));
      }
    }
  }
  std::vector<std::string> keys;
  for (const ConversationRow& row : rows) keys.push_back(row.channel_key);
  int64_t as_of_ms = 0;
  auto heads = LoadHeads(request.uid(), keys, &as_of_ms);
  if (!heads.ok()) return heads.status();
  if (everything) {
    for (size_t i = 0; i < rows.size(); ++i) {
      if (IsListed(rows[i].channel_key, (*heads)[i]) && !IsHidden(rows[i], (*heads)[i])) {
        entries.push_back(i);
      }
    }
  }
  for (size_t e = 0; e < entries.size(); ++e) {
    v1::ChannelSeq* seq = response->add_seqs();
    // A reconnecting client asks with the list it cached: a channel it cannot have is an entry
    // that says why, beside the others.
    if (!entries[e].ok()) {
      *seq->mutable_channel() = request.channels(static_cast<int>(e));
      seq->set_reason(ReasonFor(entries[e].status()));
      seq->set_message(std::string(entries[e].status().message()));
      continue;
    }
    const size_t i = *entries[e];
    const HeadCounters& head = (*heads)[i];
    absl::StatusOr<Channel> channel = StoredChannel(rows[i].channel_key, request.uid());
    if (!channel.ok()) return channel.status();
    *seq->mutable_channel() = *std::move(channel);
    seq->set_max_seq(head.last_seq);
    seq->set_read_seq(rows[i].read.read_seq);
    seq->set_last_message_time(head.last_message_ms);
    seq->set_unread(UnreadCount(rows[i].read, head));
    seq->set_reason(im::common::v1::REASON_CODE_SUCCESS);
  }
  return absl::OkStatus();
}

absl::StatusOr<Conversations::Target> Conversations::LoadTarget(const std::string& uid,
                                                                const Channel& channel) {
  if (absl::Status s = ValidateUid(uid); !s.ok()) return s;
  auto key = ChannelKey::For(uid, channel);
  if (!key.ok()) return key.status();
  HeadsQuery query;
  query.channels.push_back(channel);
  auto heads = messages_->GetHeads(uid, query);
  if (!heads.ok()) return heads.status();
  return Target{uid, key->str(), key->AsSeenBy(uid), CountersOf(heads->heads(0))};
}

absl::StatusOr<v1::ConversationState> Conversations::Change(const Target& target,
                                                            const ConversationChange& change,
                                                            const std::string& device_id) {
  const int64_t now_ms = NowMs();
  auto result = store_->Apply(target.uid, target.channel_key, change, now_ms);
  if (absl::IsNotFound(result.status()) && IsListed(target.channel_key, target.head)) {
    // A GROUP starts read up to its head, like a member added now; a PERSON chat from the start.
    // The message service gives a group's read position only to a subscriber, so anyone else
    // gets its NOT_SUBSCRIBER here instead of a conversation.
    ReadMark start;
    if (target.channel.type() == im::common::v1::CHANNEL_TYPE_GROUP) {
      im::message::v1::GetReadPositionRequest position_request;
      position_request.set_uid(target.uid);
      *position_request.mutable_channel() = target.channel;
      position_request.set_read_seq(target.head.last_seq);
      auto position = messages_->GetReadPosition(position_request);
      if (!position.ok()) return position.status();
      start = MarkOf(*position);
    }
    const EnsureRow row{target.uid, target.channel_key, start};
    if (auto created = store_->Ensure({row}, now_ms); !created.ok()) return created.status();
    result = store_->Apply(target.uid, target.channel_key, change, now_ms);
  }
  if (absl::IsNotFound(result.status())) {
    return absl::NotFoundError(absl::StrCat("user ", target.uid, " has no conversation with ",
                                            DescribeChannel(target.channel)));
  }
  if (!result.ok()) return result.status();
  v1::ConversationState state = StateOf(target.channel, result->row, target.head);
  if (result->read_moved) {
    v1::SeqUpdate update;
    *update.mutable_channel() = target.channel;
    update.set_read_seq(state.read_seq());
    update.set_unread(state.unread());
    // The change is durable; a device that misses the push sees it at its next sync.
    if (absl::Status pushed = messages_->PushSeqUpdate(target.uid, device_id, update);
        !pushed.ok()) {
      log::Warning("seq_update_push_failed",
                   {{"uid", target.uid}, {"error", std::string(pushed.message())}});
    }
  }
  return state;
}

absl::StatusOr<v1::ConversationState> Conversations::ClearUnread(
    const v1::ClearUnreadRequest& request) {
  if (request.read_seq() < 0) return absl::InvalidArgumentError("read_seq must not be negative");
  auto target = LoadTarget(request.uid(), request.channel());
  if (!target.ok()) return target.status();
  ConversationChange change;
  if (request.read_seq() == 0 || request.read_seq() >= target->head.last_seq) {
    change.read = HeadMark(target->head);
  } else {
    im::message::v1::GetReadPositionRequest position_request;
    position_request.set_uid(request.uid());
    *position_request.mutable_channel() = request.channel();
    position_request.set_read_seq(request.read_seq());
    auto position = messages_->GetReadPosition(position_request);
    if (!position.ok()) return position.status();
    change.read = MarkOf(*position);
  }
  return Change(*target, change, request.device_id());
}

absl::StatusOr<v1::ConversationState> Conversations::SetUnread(
    const v1::SetUnreadRequest& request) {
  auto target = LoadTarget(request.uid(), request.channel());
  if (!target.ok()) return target.status();
  im::message::v1::GetReadPositionRequest position_request;
  position_request.set_uid(request.uid());
  *position_request.mutable_channel() = request.channel();
  position_request.set_unread(request.unread());
  auto position = messages_->GetReadPosition(position_request);
  if (!position.ok()) return position.status();
  ConversationChange change;
  change.read = MarkOf(*position);
  change.read_forward_only = false;
  return Change(*target, change, request.device_id());
}

absl::StatusOr<v1::ConversationState> Conversations::Delete(const v1::DeleteRequest& request) {
  auto target = LoadTarget(request.uid(), request.channel());
  if (!target.ok()) return target.status();
  ConversationChange change;
  change.delete_to_seq = target->head.last_seq;
  // Only messages after the delete may be unread when the conversation comes back.
  change.read = HeadMark(target->head);
  return Change(*target, change, request.device_id());
}

absl::StatusOr<v1::ConversationState> Conversations::SetPinned(
    const v1::SetPinnedRequest& request) {
  auto target = LoadTarget(request.uid(), request.channel());
  if (!target.ok()) return target.status();
  ConversationChange change;
  change.pinned = request.pinned();
  return Change(*target, change, request.device_id());
}

absl::StatusOr<v1::ConversationState> Conversations::SetMuted(const v1::SetMutedRequest& request) {
  auto target = LoadTarget(request.uid(), request.channel());
  if (!target.ok()) return target.status();
  ConversationChange change;
  change.muted = request.muted();
  return Change(*target, change, request.device_id());
}

absl::StatusOr<v1::EnsureResponse> Conversations::Ensure(const v1::EnsureRequest& request) {
  if (static_cast<size_t>(request.items_size()) > options_.max_items) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", options_.max_items, " items per call"));
  }
  std::vector<EnsureRow> rows;
  rows.reserve(request.items_size());
  for (const v1::EnsureItem& item : request.items()) {
    if (absl::Status s = ValidateUid(item.uid()); !s.ok()) return s;
    auto key = ChannelKey::For(item.uid(), item.channel());
    if (!key.ok()) return key.status();
    auto mark = ParseMark(item.read_seq(), item.red_dots(), item.own_red_dots());
    if (!mark.ok()) return mark.status();
    rows.push_back({item.uid(), key->str(), *mark});
  }
  auto created = store_->Ensure(rows, NowMs());
  if (!created.ok()) return created.status();
  v1::EnsureResponse response;
  response.set_created(*created);
  return response;
}

absl::Status Conversations::AdvanceReads(const v1::AdvanceReadsRequest& request) {
  if (static_cast<size_t>(request.items_size()) > options_.max_items) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", options_.max_items, " items per call"));
  }
  std::vector<ReadAdvanceRow> rows;
  rows.reserve(request.items_size());
  for (const v1::ReadAdvance& item : request.items()) {
    if (absl::Status s = ValidateUid(item.uid()); !s.ok()) return s;
    auto key = ChannelKey::For(item.uid(), item.channel());
    if (!key.ok()) return key.status();
    auto mark = ParseMark(item.read_seq(), item.red_dots(), item.own_red_dots());
    if (!mark.ok()) return mark.status();
    rows.push_back({item.uid(), key->str(), *mark});
  }
  return store_->AdvanceReads(rows, NowMs());
}

}  // namespace im::conversation
