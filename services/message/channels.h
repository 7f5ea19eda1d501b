// ChannelService's logic for business servers: groups and their subscribers, with the request
// checks (ids, sizes, page tokens) in front of ChannelStore, and the new subscribers'
// conversations made through ConversationService.Ensure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "im/message/v1/message.pb.h"
#include "services/message/channel_store.h"
#include "services/message/conversation_client.h"
#include "services/message/message_store.h"

namespace im::message {

class Channels {
 public:
  struct Options {
    // Most uids one call may add, remove or check.
    size_t max_uids = 10000;
    uint32_t default_page_size = 100;
    uint32_t max_page_size = 1000;
    size_t max_name_bytes = 1024;
    size_t max_extra_bytes = 64 * 1024;
  };

  Channels(ChannelStore* store, MessageStore* messages, ConversationClient* conversations,
           Options options)
      : store_(store), messages_(messages), conversations_(conversations), options_(options) {}

  // INVALID_ARGUMENT for bad ids or oversized fields; ALREADY_EXISTS if the id is taken.
  // UNAVAILABLE when the group was created but the subscribers' conversations could not be made
  // (AddSubscribers with them repairs it).
  absl::StatusOr<im::message::v1::Group> CreateGroup(
      const im::message::v1::CreateGroupRequest& request);
  // NOT_FOUND for an unknown or deleted group.
  absl::StatusOr<im::message::v1::Group> UpdateGroup(
      const im::message::v1::UpdateGroupRequest& request);
  // Idempotent; NOT_FOUND if the group never existed.
  absl::Status DeleteGroup(const im::message::v1::DeleteGroupRequest& request);
  // GROUP channels only (INVALID_ARGUMENT otherwise); NOT_FOUND for an unknown or deleted group.
  // Then ensures every given uid's conversation; UNAVAILABLE if that fails (the subscribers are
  // added; a retry repairs it).
  absl::StatusOr<uint32_t> AddSubscribers(const im::message::v1::AddSubscribersRequest& request);
  absl::StatusOr<uint32_t> RemoveSubscribers(
      const im::message::v1::RemoveSubscribersRequest& request);
  absl::StatusOr<im::message::v1::ListSubscribersResponse> ListSubscribers(
      const im::message::v1::ListSubscribersRequest& request);
  // PERSON channel {id: X}: every uid other than X may use its chat with X. GROUP: subscribers of
  // a live group (NOT_FOUND otherwise).
  absl::StatusOr<std::vector<bool>> CheckSubscribers(
      const im::message::v1::CheckSubscribersRequest& request);

 private:
  // The group id of a GROUP channel; INVALID_ARGUMENT for anything else.
  absl::StatusOr<std::string> GroupIdOf(const im::common::v1::Channel& channel) const;
  // The group id and the size limits of name and extra (Create- or UpdateGroupRequest).
  template <typename Request>
  absl::Status CheckGroupFields(const Request& request) const;
  // The uids, validated and at most max_uids of them.
  absl::StatusOr<std::vector<std::string>> Uids(
      const google::protobuf::RepeatedPtrField<std::string>& uids) const;
  // Ensures the conversation of each uid with the group, a new one starting at the group's head
  // (nothing unread); UNAVAILABLE saying what to retry.
  absl::Status EnsureConversations(const std::string& group_id,
                                   const std::vector<std::string>& uids, const char* retry_hint);

  ChannelStore* store_;
  MessageStore* messages_;
  ConversationClient* conversations_;
  const Options options_;
};

}  // namespace im::message
