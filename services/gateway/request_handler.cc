#include "services/gateway/request_handler.h"

#include <grpcpp/grpcpp.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel_key.h"
#include "services/gateway/frames.h"
#include "services/gateway/reason_codes.h"

namespace im::gateway {
namespace {

using im::client::v1::Frame;

void Reply(const std::shared_ptr<Connection>& conn, const Frame& frame, Encoding encoding) {
  conn->Push({MakeOutFrame(frame, encoding)});
}

Frame SendAckFrame(const std::string& request_id, const std::string& client_msg_no) {
  Frame frame;
  frame.set_request_id(request_id);
  frame.mutable_sendack()->set_client_msg_no(client_msg_no);
  return frame;
}

// One SyncChannelMessages call's state, alive until its callback.
struct SyncCall {
  grpc::ClientContext context;
  im::message::v1::SyncChannelMessagesRequest request;
  im::message::v1::SyncChannelMessagesResponse response;
};

}  // namespace

void RequestHandler::Handle(const std::shared_ptr<Connection>& conn, Frame frame,
                            Encoding encoding) {
  switch (frame.body_case()) {
    case Frame::kPing: {
      Frame pong;
      pong.set_request_id(frame.request_id());
      pong.mutable_pong()->set_server_time(absl::ToUnixMillis(absl::Now()));
      Reply(conn, pong, encoding);
      return;
    }
    case Frame::kSend:
      HandleSend(conn, std::move(frame), encoding);
      return;
    case Frame::kRecvack:
      // Only counted: delivery state is derivable from read and sync positions, and this
      // protocol version keeps no per-message delivered state.
      metrics_->recvacks->Increment();
      return;
    case Frame::kSyncChannelMessagesRequest:
      HandleSync(conn, std::move(frame), encoding);
      return;
    case Frame::kConnect:
      Reply(conn,
            ErrorFrame(frame.request_id(), im::common::v1::REASON_CODE_INVALID_ARGUMENT,
                       "already connected; CONNECT is only valid as the first frame"),
            encoding);
      return;
    default:
      break;
  }
  if (IsServerOnlyBody(frame.body_case())) {
    Reply(conn,
          ErrorFrame(frame.request_id(), im::common::v1::REASON_CODE_BAD_FRAME,
                     "this frame body is only sent by servers"),
          encoding);
    return;
  }
  const std::string name =
      Frame::descriptor()->FindFieldByNumber(static_cast<int>(frame.body_case()))->name();
  Reply(conn,
        ErrorFrame(frame.request_id(), im::common::v1::REASON_CODE_INVALID_ARGUMENT,
                   absl::StrCat(name, " is not served by this gateway yet")),
        encoding);
}

void RequestHandler::HandleSend(const std::shared_ptr<Connection>& conn, Frame frame,
                                Encoding encoding) {
  const ConnectionInfo& info = conn->info();
  im::client::v1::Send& send = *frame.mutable_send();
  absl::StatusOr<std::string> key = ChannelKeyFor(info.uid, send.channel());
  if (!key.ok()) {
    Reply(conn, RefusalFor(frame, ReasonFor(key.status()), std::string(key.status().message())),
          encoding);
    return;
  }
  im::message::v1::SendItem item;
  *item.mutable_channel() = std::move(*send.mutable_channel());
  item.set_from_uid(info.uid);
  item.set_from_device_id(info.device_id);
  item.set_client_msg_no(send.client_msg_no());
  item.set_payload(std::move(*send.mutable_payload()));
  *item.mutable_flags() = send.flags();
  *item.mutable_recipient_uids() = std::move(*send.mutable_recipient_uids());

  std::string request_id = frame.request_id();
  std::string client_msg_no = send.client_msg_no();
  auto done = [conn, request_id, client_msg_no, encoding](const SendOutcome& outcome) {
    Frame reply = SendAckFrame(request_id, client_msg_no);
    im::client::v1::SendAck* ack = reply.mutable_sendack();
    if (!outcome.status.ok()) {
      ack->set_reason(ReasonFor(outcome.status));
      ack->set_message(outcome.status.error_message());
    } else {
      const im::message::v1::SendResult& result = outcome.result;
      ack->set_reason(result.reason());
      ack->set_message(result.message());
      ack->set_message_id(result.message_id());
      ack->set_message_seq(result.message_seq());
      ack->set_timestamp(result.timestamp());
    }
    Reply(conn, reply, encoding);
  };
  if (!batcher_->Submit(*key, std::move(item), std::move(done))) {
    Frame refusal = SendAckFrame(request_id, client_msg_no);
    refusal.mutable_sendack()->set_reason(im::common::v1::REASON_CODE_UNAVAILABLE);
    refusal.mutable_sendack()->set_message("gateway send queue full; retry later");
    Reply(conn, refusal, encoding);
  }
}

void RequestHandler::HandleSync(const std::shared_ptr<Connection>& conn, Frame frame,
                                Encoding encoding) {
  const im::client::v1::SyncChannelMessagesRequest& in = frame.sync_channel_messages_request();
  auto call = std::make_shared<SyncCall>();
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  call->request.set_uid(conn->info().uid);
  *call->request.mutable_channel() = in.channel();
  call->request.set_start_seq(in.start_seq());
  call->request.set_end_seq(in.end_seq());
  call->request.set_limit(in.limit());
  call->request.set_direction(in.direction());
  SyncCall* raw = call.get();
  messages_->async()->SyncChannelMessages(
      &raw->context, &raw->request, &raw->response,
      [conn, call = std::move(call), request_id = frame.request_id(),
       encoding](grpc::Status status) {
        Frame reply;
        reply.set_request_id(request_id);
        im::client::v1::SyncChannelMessagesResponse* out =
            reply.mutable_sync_channel_messages_response();
        if (!status.ok()) {
          out->set_reason(ChannelAccessReasonFor(status));
          out->set_message(status.error_message());
        } else {
          out->set_reason(im::common::v1::REASON_CODE_SUCCESS);
          out->mutable_messages()->Swap(call->response.mutable_messages());
          *out->mutable_covered() = call->response.covered();
          out->set_has_more(call->response.has_more());
        }
        Reply(conn, reply, encoding);
      });
}

}  // namespace im::gateway
