#include "services/message/heads_reader.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/message/channel_access.h"
#include "services/message/message_view.h"
#include "services/message/public/channel_key.h"

namespace im::message {

namespace v1 = im::message::v1;

absl::StatusOr<v1::GetChannelHeadsResponse> HeadsReader::GetChannelHeads(
    const v1::GetChannelHeadsRequest& request) {
  if (absl::Status s = ValidateId(request.uid(), "uid"); !s.ok()) return s;
  const size_t count = request.channels_size();
  if (count > options_.max_channels) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", options_.max_channels, " channels per call"));
  }
  if (static_cast<size_t>(request.hidden_to_seqs_size()) > count) {
    return absl::InvalidArgumentError("more hidden_to_seqs than channels");
  }
  std::vector<ChannelKey> channel_keys;
  std::vector<std::string> keys;
  channel_keys.reserve(count);
  keys.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    absl::StatusOr<ChannelKey> key = ChannelKey::For(request.uid(), request.channels(i));
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("channels[", i, "]: ", key.status().message()));
    }
    keys.push_back(key->str());
    channel_keys.push_back(*std::move(key));
  }
  std::vector<int64_t> hidden(count, 0);
  for (int i = 0; i < request.hidden_to_seqs_size(); ++i) {
    if (request.hidden_to_seqs(i) < 0) {
      return absl::InvalidArgumentError("hidden_to_seqs must not be negative");
    }
    hidden[i] = request.hidden_to_seqs(i);
  }
  const uint32_t recents = std::min(request.msg_count(), options_.max_msg_count);
  // The last message is the newest visible one, so one is read even when no recents are wanted.
  const uint32_t newest = request.with_messages() ? std::max<uint32_t>(recents, 1) : 0;
  absl::StatusOr<HeadsRead> read = messages_->ReadHeads(keys, request.uid(), hidden, newest);
  if (!read.ok()) return read.status();
  // Counters only, never content, for groups the viewer may no longer read (left, or deleted).
  std::vector<bool> readable(count, true);
  if (newest > 0) {
    std::vector<size_t> group_index;
    std::vector<std::string> group_ids, uids;
    for (size_t i = 0; i < count; ++i) {
      if (!channel_keys[i].is_group()) continue;
      group_index.push_back(i);
      group_ids.emplace_back(channel_keys[i].group_id());
      uids.push_back(request.uid());
    }
    if (!group_ids.empty()) {
      absl::StatusOr<std::vector<GroupAccess>> access = channels_->CheckAccess(group_ids, uids);
      if (!access.ok()) return access.status();
      for (size_t j = 0; j < group_index.size(); ++j) {
        readable[group_index[j]] = (*access)[j] == GroupAccess::kSubscriber;
      }
    }
  }

  v1::GetChannelHeadsResponse response;
  response.set_as_of_ms(read->as_of_ms);
  response.mutable_heads()->Reserve(static_cast<int>(count));
  for (size_t i = 0; i < count; ++i) {
    const HeadRead& head = read->heads[i];
    v1::ChannelHead* out = response.add_heads();
    *out->mutable_channel() = request.channels(i);
    out->set_last_seq(head.last_seq);
    out->set_last_message_ms(head.last_message_ms);
    out->set_red_dots(head.red_dots);
    out->set_own_red_dots(head.own_red_dots);
    out->set_activity_ms(head.activity_ms);
    if (head.newest.empty() || !readable[i]) continue;
    if (head.newest.back().seq == head.last_seq) {
      *out->mutable_last_message() = ToMessage(head.newest.back(), request.uid());
    }
    const size_t skip = head.newest.size() > recents ? head.newest.size() - recents : 0;
    for (size_t j = skip; j < head.newest.size(); ++j) {
      *out->add_recents() = ToMessage(head.newest[j], request.uid());
    }
  }
  return response;
}

absl::StatusOr<v1::ReadPosition> HeadsReader::GetReadPosition(
    const v1::GetReadPositionRequest& request) {
  if (absl::Status s = ValidateId(request.uid(), "uid"); !s.ok()) return s;
  int64_t read_seq = 0;
  uint32_t unread = 0;
  if (request.target_case() == v1::GetReadPositionRequest::kUnread) {
    unread = request.unread();
    if (unread > options_.max_unread) {
      return absl::InvalidArgumentError(absl::StrCat("unread is limited to ", options_.max_unread));
    }
  } else {
    read_seq = request.read_seq();
    if (read_seq < 0) return absl::InvalidArgumentError("read_seq must not be negative");
  }
  absl::StatusOr<std::string> key =
      ReadableChannelKey(*channels_, request.uid(), request.channel());
  if (!key.ok()) return key.status();
  absl::StatusOr<PositionRead> position =
      messages_->ReadPosition(*key, request.uid(), read_seq, unread);
  if (!position.ok()) return position.status();
  v1::ReadPosition out;
  out.set_read_seq(position->read_seq);
  out.set_red_dots(position->red_dots);
  out.set_own_red_dots(position->own_red_dots);
  return out;
}

}  // namespace im::message
