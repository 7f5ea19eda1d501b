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

Frame RefusalFor(const Frame& request, ReasonCode reason, std::string message) {
  Frame frame;
  frame.set_request_id(request.request_id());
  switch (request.body_case()) {
    case Frame::kSend: {
      im::client::v1::SendAck* ack = frame.mutable_sendack();
      ack->set_reason(reason);
      ack->set_message(std::move(message));
      ack->set_client_msg_no(request.send().client_msg_no());
      break;
    }
    case Frame::kSyncChannelMessagesRequest: {
      im::client::v1::SyncChannelMessagesResponse* response =
          frame.mutable_sync_channel_messages_response();
      response->set_reason(reason);
      response->set_message(std::move(message));
      break;
    }
    default:
      frame.mutable_error()->set_reason(reason);
      frame.mutable_error()->set_message(std::move(message));
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
