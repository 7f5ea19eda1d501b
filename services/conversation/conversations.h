// The conversation service's logic, apart from gRPC: each user's list computed from the channels'
// heads (message service) and the user's own rows (ConversationStore), read positions kept with the
// red-dot counters that make unread exact, and SEQ_UPDATE pushes to the user's other devices.
//
//   Conversations conversations(&store, &message_client, {});
//   absl::Status s = conversations.Sync(request, &response);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "im/conversation/v1/conversation.pb.h"
#include "services/conversation/conversation_page.h"
#include "services/conversation/conversation_store.h"
#include "services/conversation/message_client.h"

namespace im::conversation {

class Conversations {
 public:
  struct Options {
    uint32_t default_limit = 100;
    uint32_t max_limit = 1000;
    uint32_t max_msg_count = 20;
    // How long after its clock reading a message commit may become visible; see
    // conversation_page.h.
    absl::Duration activity_margin = absl::Seconds(5);
    // Most channels per GetChannelHeads call (larger lists take several).
    size_t heads_chunk = 5000;
    // Most items in one Ensure, AdvanceReads or listed GetChannelSeqs, the bound of the other
    // batch APIs: larger batches hold one transaction and one worker too long.
    size_t max_items = 10000;
  };

  Conversations(ConversationStore* store, MessageClient* messages, Options options);

  absl::Status Sync(const v1::SyncRequest& request, v1::SyncResponse* response);
  absl::Status GetChannelSeqs(const v1::GetChannelSeqsRequest& request,
                              v1::GetChannelSeqsResponse* response);
  absl::StatusOr<v1::ConversationState> ClearUnread(const v1::ClearUnreadRequest& request);
  absl::StatusOr<v1::ConversationState> SetUnread(const v1::SetUnreadRequest& request);
  absl::StatusOr<v1::ConversationState> Delete(const v1::DeleteRequest& request);
  absl::StatusOr<v1::ConversationState> SetPinned(const v1::SetPinnedRequest& request);
  absl::StatusOr<v1::ConversationState> SetMuted(const v1::SetMutedRequest& request);
  absl::StatusOr<v1::EnsureResponse> Ensure(const v1::EnsureRequest& request);
  absl::Status AdvanceReads(const v1::AdvanceReadsRequest& request);

 private:
  // One user's conversation and the channel's head, for a change to it.
  struct Target {
    std::string uid;
    std::string channel_key;
    im::common::v1::Channel channel;
    HeadCounters head;
  };

  // GetChannelHeads in chunks; `as_of_ms` gets the oldest snapshot time.
  absl::StatusOr<std::vector<im::message::v1::ChannelHead>> FetchHeads(const std::string& uid,
                                                                       const HeadsQuery& query,
                                                                       int64_t* as_of_ms);
  // The counters of the channels (by key, as `uid` sees them).
  absl::StatusOr<std::vector<HeadCounters>> LoadHeads(const std::string& uid,
                                                      const std::vector<std::string>& keys,
                                                      int64_t* as_of_ms);
  absl::StatusOr<Target> LoadTarget(const std::string& uid, const im::common::v1::Channel& channel);
  // Applies `change`; a conversation the user may have but that was never created (e.g. a group
  // joined before this service existed) is created first.
  absl::StatusOr<v1::ConversationState> Change(const Target& target,
                                               const ConversationChange& change,
                                               const std::string& device_id);

  ConversationStore* store_;
  MessageClient* messages_;
  const Options options_;
};

}  // namespace im::conversation
