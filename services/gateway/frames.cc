#include "services/gateway/frames.h"

#include <utility>

namespace im::gateway {

Frame DisconnectFrame(ReasonCode reason, std::string message) {
  Frame frame;
  frame.mutable_disconnect()->set_reason(reason);
  frame.mutable_disconnect()->set_message(std::move(message));
  return frame;
}

Frame ErrorFrame(std::string request_id, ReasonCode reason, std::string message) {
  Frame frame;
  frame.set_request_id(std::move(request_id));
  frame.mutable_error()->set_reason(reason);
  frame.mutable_error()->set_message(std::move(message));
  return frame;
}

namespace {

// Every typed response has the same reason and message fields.
template <typename Response>
void Refuse(Response* response, ReasonCode reason, std::string message) {
  response->set_reason(reason);
  response->set_message(std::move(message));
}

}  // namespace

Frame RefusalFor(const Frame& request, ReasonCode reason, std::string message) {
  Frame frame;
  frame.set_request_id(request.request_id());
  switch (request.body_case()) {
    case Frame::kSend: {
      im::client::v1::SendAck* ack = frame.mutable_sendack();
      Refuse(ack, reason, std::move(message));
      ack->set_client_msg_no(request.send().client_msg_no());
      break;
    }
    case Frame::kSyncChannelMessagesRequest:
      Refuse(frame.mutable_sync_channel_messages_response(), reason, std::move(message));
      break;
    case Frame::kSyncConversationsRequest:
      Refuse(frame.mutable_sync_conversations_response(), reason, std::move(message));
      break;
    case Frame::kSetReadSeqRequest:
      Refuse(frame.mutable_set_read_seq_response(), reason, std::move(message));
      break;
    case Frame::kSetUnreadRequest:
      Refuse(frame.mutable_set_unread_response(), reason, std::move(message));
      break;
    case Frame::kDeleteConversationRequest:
      Refuse(frame.mutable_delete_conversation_response(), reason, std::move(message));
      break;
    case Frame::kSetPinnedRequest:
      Refuse(frame.mutable_set_pinned_response(), reason, std::move(message));
      break;
    case Frame::kSetMutedRequest:
      Refuse(frame.mutable_set_muted_response(), reason, std::move(message));
      break;
    case Frame::kSeqSnapshotRequest:
      Refuse(frame.mutable_seq_snapshot_response(), reason, std::move(message));
      break;
    case Frame::kSeqSubscribeRequest:
      Refuse(frame.mutable_seq_subscribe_response(), reason, std::move(message));
      break;
    case Frame::kCmdSyncRequest:
      Refuse(frame.mutable_cmd_sync_response(), reason, std::move(message));
      break;
    case Frame::kCmdAckRequest:
      Refuse(frame.mutable_cmd_ack_response(), reason, std::move(message));
      break;
    case Frame::kExtensionSetRequest:
      Refuse(frame.mutable_extension_set_response(), reason, std::move(message));
      break;
    case Frame::kExtensionSyncRequest:
      Refuse(frame.mutable_extension_sync_response(), reason, std::move(message));
      break;
    default:
      Refuse(frame.mutable_error(), reason, std::move(message));
      break;
  }
  return frame;
}

bool IsServerOnlyBody(Frame::BodyCase body) {
  switch (body) {
    case Frame::kConnack:
    case Frame::kPong:
    case Frame::kError:
    case Frame::kSendack:
    case Frame::kRecv:
    case Frame::kSyncChannelMessagesResponse:
    case Frame::kSyncConversationsResponse:
    case Frame::kSetReadSeqResponse:
    case Frame::kSetUnreadResponse:
    case Frame::kDeleteConversationResponse:
    case Frame::kSetPinnedResponse:
    case Frame::kSetMutedResponse:
    case Frame::kSeqSnapshotResponse:
    case Frame::kSeqSubscribeResponse:
    case Frame::kSeqUpdate:
    case Frame::kCmd:
    case Frame::kCmdSyncResponse:
    case Frame::kCmdAckResponse:
    case Frame::kExtensionSetResponse:
    case Frame::kExtensionSyncResponse:
    case Frame::kExtensionChanged:
      return true;
    default:
      return false;
  }
}

}  // namespace im::gateway
