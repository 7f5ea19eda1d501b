#include "services/message/message_reader.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/message/channel_access.h"
#include "services/message/message_view.h"

namespace im::message {

namespace v1 = im::message::v1;

namespace {

// Upper bound on what protobuf adds around one message in a response (tag and length prefix).
constexpr size_t kMessageOverhead = 6;

}  // namespace

absl::StatusOr<v1::SyncChannelMessagesResponse> MessageReader::Sync(
    const v1::SyncChannelMessagesRequest& request) {
  if (request.start_seq() < 0 || request.end_seq() < 0) {
    return absl::InvalidArgumentError("start_seq and end_seq must not be negative");
  }
  if (request.end_seq() != 0 && request.end_seq() < request.start_seq()) {
    return absl::InvalidArgumentError("end_seq is below start_seq");
  }
  if (!v1::SyncDirection_IsValid(request.direction())) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown direction ", static_cast<int>(request.direction())));
  }
  absl::StatusOr<std::string> key =
      ReadableChannelKey(*channels_, request.uid(), request.channel());
  if (!key.ok()) return key.status();
  const uint32_t limit =
      request.limit() == 0 ? options_.default_limit : std::min(request.limit(), options_.max_limit);
  const int64_t from = std::max<int64_t>(request.start_seq(), 1);
  const int64_t to =
      request.end_seq() == 0 ? std::numeric_limits<int64_t>::max() : request.end_seq();
  const bool older = request.direction() == v1::SYNC_DIRECTION_OLDER;
  // One row more than asked says whether the range holds more.
  absl::StatusOr<RangeRead> read = messages_->ReadRange(*key, from, to, limit + 1, older);
  if (!read.ok()) return read.status();

  // Nothing above the highest committed seq is final yet: a seq handed out may still commit.
  const int64_t top = std::min(to, read->max_seq);
  std::vector<StoredMessage>& rows = read->messages;
  v1::SyncChannelMessagesResponse response;
  int64_t covered_from = from, covered_to = top;
  if (rows.size() > limit) {
    response.set_has_more(true);
    if (older) {
      rows.erase(rows.begin());
      covered_from = rows.front().seq;
    } else {
      rows.pop_back();
      covered_to = rows.back().seq;
    }
  }
  // Taken from the end the page starts at, so a page cut short by size still borders the rest of
  // the range and the client's next page begins where this one ends.
  std::vector<im::common::v1::Message> page;
  size_t bytes = 0;
  for (size_t n = 0; n < rows.size(); ++n) {
    im::common::v1::Message message =
        ToMessage(older ? rows[rows.size() - 1 - n] : rows[n], request.uid());
    const size_t message_bytes = message.ByteSizeLong() + kMessageOverhead;
    if (!page.empty() && bytes + message_bytes > options_.max_response_bytes) {
      response.set_has_more(true);
      (older ? covered_from : covered_to) = page.back().message_seq();
      break;
    }
    bytes += message_bytes;
    page.push_back(std::move(message));
  }
  if (older) std::reverse(page.begin(), page.end());
  response.mutable_covered()->set_start_seq(covered_from);
  // An empty range is reported as [from, from - 1].
  response.mutable_covered()->set_end_seq(std::max(covered_to, covered_from - 1));
  for (im::common::v1::Message& message : page) *response.add_messages() = std::move(message);
  return response;
}

absl::StatusOr<v1::GetMessagesResponse> MessageReader::Get(const v1::GetMessagesRequest& request) {
  const bool by_seq = !request.seqs().empty();
  if (by_seq == !request.message_ids().empty()) {
    return absl::InvalidArgumentError("give exactly one of seqs and message_ids");
  }
  const size_t count = by_seq ? request.seqs_size() : request.message_ids_size();
  if (count > options_.max_get) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", options_.max_get, " messages per call"));
  }
  absl::StatusOr<std::string> key =
      ReadableChannelKey(*channels_, request.uid(), request.channel());
  if (!key.ok()) return key.status();
  absl::StatusOr<std::vector<StoredMessage>> found =
      by_seq
          ? messages_->GetBySeqs(*key, {request.seqs().begin(), request.seqs().end()})
          : messages_->GetByIds(*key, {request.message_ids().begin(), request.message_ids().end()});
  if (!found.ok()) return found.status();
  absl::flat_hash_map<int64_t, const StoredMessage*> index;
  for (const StoredMessage& m : *found) {
    index[by_seq ? m.seq : static_cast<int64_t>(m.message_id)] = &m;
  }
  v1::GetMessagesResponse response;
  size_t bytes = 0;
  for (size_t i = 0; i < count; ++i) {
    const int64_t wanted = by_seq ? request.seqs(i) : static_cast<int64_t>(request.message_ids(i));
    auto it = index.find(wanted);
    if (it == index.end()) continue;
    im::common::v1::Message* message = response.add_messages();
    *message = ToMessage(*it->second, request.uid());
    bytes += message->ByteSizeLong() + kMessageOverhead;
    if (response.messages_size() > 1 && bytes > options_.max_response_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("the named messages come to more than ",
                                                     options_.max_response_bytes,
                                                     " bytes; ask for fewer per call"));
    }
  }
  return response;
}

}  // namespace im::message
