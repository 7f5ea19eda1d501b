#include "services/gateway/request_handler.h"

#include <grpcpp/grpcpp.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/channel_key.h"
#include "common/status.h"
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

// One call's state, alive until its callback.
template <typename Request, typename Response>
struct UnaryCall {
  grpc::ClientContext context;
  Request request;
  Response response;
};

// Where the answer to a request goes.
struct ReplyTo {
  std::shared_ptr<Connection> conn;
  std::string request_id;
  Encoding encoding;
};

// Starts `request` through `start(context, request, response, callback)` (a stub's async method)
// with `timeout`; when it returns, `fill(status, response, reply)` fills the reply frame, which
// goes back to the connection.
template <typename Response, typename Request, typename Start, typename Fill>
void Forward(ReplyTo to, absl::Duration timeout, Request request, Start start, Fill fill) {
  auto call = std::make_shared<UnaryCall<Request, Response>>();
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  call->request = std::move(request);
  UnaryCall<Request, Response>* raw = call.get();
  start(&raw->context, &raw->request, &raw->response,
        [to = std::move(to), call = std::move(call), fill = std::move(fill)](grpc::Status status) {
          Frame reply;
          reply.set_request_id(to.request_id);
          fill(status, &call->response, &reply);
          Reply(to.conn, reply, to.encoding);
        });
}

// Sets a typed response's reason (and message on failure) from `status`; true when it succeeded.
template <typename Out>
bool SetOutcome(const grpc::Status& status, Out* out) {
  out->set_reason(ReasonFor(status));
  if (!status.ok()) out->set_message(status.error_message());
  return status.ok();
}

// Fills the ConversationStateResponse in `field` of the reply with the state a change returned.
auto StateInto(im::client::v1::ConversationStateResponse* (Frame::*field)()) {
  return [field](const grpc::Status& status, im::conversation::v1::ConversationState* state,
                 Frame* reply) {
    im::client::v1::ConversationStateResponse* out = (reply->*field)();
    if (SetOutcome(status, out)) out->mutable_state()->Swap(state);
  };
}

// The uid a conversation or seq request names; empty means the connection's.
const std::string& NamedUid(const Frame& frame) {
  switch (frame.body_case()) {
    case Frame::kSyncConversationsRequest:
      return frame.sync_conversations_request().uid();
    case Frame::kSetReadSeqRequest:
      return frame.set_read_seq_request().uid();
    case Frame::kSetUnreadRequest:
      return frame.set_unread_request().uid();
    case Frame::kDeleteConversationRequest:
      return frame.delete_conversation_request().uid();
    case Frame::kSetPinnedRequest:
      return frame.set_pinned_request().uid();
    case Frame::kSetMutedRequest:
      return frame.set_muted_request().uid();
    default:
      return frame.seq_snapshot_request().uid();
  }
}

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
    case Frame::kSyncConversationsRequest:
    case Frame::kSetReadSeqRequest:
    case Frame::kSetUnreadRequest:
    case Frame::kDeleteConversationRequest:
    case Frame::kSetPinnedRequest:
    case Frame::kSetMutedRequest:
    case Frame::kSeqSnapshotRequest:
      HandleConversation(conn, std::move(frame), encoding);
      return;
    case Frame::kSeqSubscribeRequest:
      HandleSeqSubscribe(conn, frame, encoding);
      return;
    case Frame::kCmdSyncRequest:
    case Frame::kCmdAckRequest:
      HandleCmd(conn, frame, encoding);
      return;
    case Frame::kExtensionSetRequest:
    case Frame::kExtensionSyncRequest:
      HandleExtension(conn, std::move(frame), encoding);
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
  if (send.flags().sync_once() && !client_cmds_) {
    Reply(conn,
          RefusalFor(frame, im::common::v1::REASON_CODE_PERMISSION_DENIED,
                     "this gateway does not accept cmds (sync_once) from clients; a business "
                     "server sends them, or start the gateway with --client_cmds"),
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
  auto done = [conn, request_id, client_msg_no, encoding, metrics = metrics_,
               handed = absl::Now()](const SendOutcome& outcome) {
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
    // Before the reply, so whoever sees the SENDACK also sees it counted.
    metrics->send_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - handed));
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
  im::message::v1::SyncChannelMessagesRequest request;
  request.set_uid(conn->info().uid);
  *request.mutable_channel() = in.channel();
  request.set_start_seq(in.start_seq());
  request.set_end_seq(in.end_seq());
  request.set_limit(in.limit());
  request.set_direction(in.direction());
  MessageStub* stub = messages_.get();
  Forward<im::message::v1::SyncChannelMessagesResponse>(
      {conn, frame.request_id(), encoding}, message_timeout_, std::move(request),
      [stub](auto&&... args) {
        stub->async()->SyncChannelMessages(std::forward<decltype(args)>(args)...);
      },
      [](const grpc::Status& status, im::message::v1::SyncChannelMessagesResponse* response,
         Frame* reply) {
        im::client::v1::SyncChannelMessagesResponse* out =
            reply->mutable_sync_channel_messages_response();
        if (!status.ok()) {
          out->set_reason(ChannelAccessReasonFor(status));
          out->set_message(status.error_message());
          return;
        }
        out->set_reason(im::common::v1::REASON_CODE_SUCCESS);
        out->mutable_messages()->Swap(response->mutable_messages());
        *out->mutable_covered() = response->covered();
        out->set_has_more(response->has_more());
      });
}

void RequestHandler::HandleConversation(const std::shared_ptr<Connection>& conn, Frame frame,
                                        Encoding encoding) {
  namespace conv = im::conversation::v1;
  const ConnectionInfo& info = conn->info();
  if (const std::string& named = NamedUid(frame); !named.empty() && named != info.uid) {
    Reply(conn,
          RefusalFor(frame, im::common::v1::REASON_CODE_PERMISSION_DENIED,
                     "a connection acts only for its own uid; leave uid empty or set it to yours"),
          encoding);
    return;
  }
  ReplyTo to{conn, frame.request_id(), encoding};
  ConversationStub* stub = conversations_.get();
  switch (frame.body_case()) {
    case Frame::kSyncConversationsRequest: {
      im::client::v1::SyncConversationsRequest& in = *frame.mutable_sync_conversations_request();
      conv::SyncRequest request;
      request.set_uid(info.uid);
      request.set_cursor(std::move(*in.mutable_cursor()));
      request.set_limit(in.limit());
      request.set_msg_count(in.msg_count());
      request.set_only_unread(in.only_unread());
      *request.mutable_exclude_channel_types() = in.exclude_channel_types();
      Forward<conv::SyncResponse>(
          std::move(to), conversation_timeout_, std::move(request),
          [stub](auto&&... args) { stub->async()->Sync(std::forward<decltype(args)>(args)...); },
          [](const grpc::Status& status, conv::SyncResponse* response, Frame* reply) {
            im::client::v1::SyncConversationsResponse* out =
                reply->mutable_sync_conversations_response();
            if (!SetOutcome(status, out)) return;
            out->mutable_conversations()->Swap(response->mutable_conversations());
            out->mutable_deleted_channels()->Swap(response->mutable_deleted_channels());
            out->set_next_cursor(std::move(*response->mutable_next_cursor()));
            out->set_has_more(response->has_more());
          });
      return;
    }
    case Frame::kSetReadSeqRequest: {
      im::client::v1::SetReadSeqRequest& in = *frame.mutable_set_read_seq_request();
      conv::ClearUnreadRequest request;
      request.set_uid(info.uid);
      request.mutable_channel()->Swap(in.mutable_channel());
      request.set_read_seq(in.read_seq());
      request.set_device_id(info.device_id);
      Forward<conv::ConversationState>(
          std::move(to), conversation_timeout_, std::move(request),
          [stub](auto&&... args) {
            stub->async()->ClearUnread(std::forward<decltype(args)>(args)...);
          },
          StateInto(&Frame::mutable_set_read_seq_response));
      return;
    }
    case Frame::kSetUnreadRequest: {
      im::client::v1::SetUnreadRequest& in = *frame.mutable_set_unread_request();
      conv::SetUnreadRequest request;
      request.set_uid(info.uid);
      request.mutable_channel()->Swap(in.mutable_channel());
      request.set_unread(in.unread());
      request.set_device_id(info.device_id);
      Forward<conv::ConversationState>(
          std::move(to), conversation_timeout_, std::move(request),
          [stub](auto&&... args) {
            stub->async()->SetUnread(std::forward<decltype(args)>(args)...);
          },
          StateInto(&Frame::mutable_set_unread_response));
      return;
    }
    case Frame::kDeleteConversationRequest: {
      im::client::v1::DeleteConversationRequest& in = *frame.mutable_delete_conversation_request();
      conv::DeleteRequest request;
      request.set_uid(info.uid);
      request.mutable_channel()->Swap(in.mutable_channel());
      request.set_device_id(info.device_id);
      Forward<conv::ConversationState>(
          std::move(to), conversation_timeout_, std::move(request),
          [stub](auto&&... args) { stub->async()->Delete(std::forward<decltype(args)>(args)...); },
          StateInto(&Frame::mutable_delete_conversation_response));
      return;
    }
    case Frame::kSetPinnedRequest: {
      im::client::v1::SetPinnedRequest& in = *frame.mutable_set_pinned_request();
      conv::SetPinnedRequest request;
      request.set_uid(info.uid);
      request.mutable_channel()->Swap(in.mutable_channel());
      request.set_pinned(in.pinned());
      request.set_device_id(info.device_id);
      Forward<conv::ConversationState>(
          std::move(to), conversation_timeout_, std::move(request),
          [stub](auto&&... args) {
            stub->async()->SetPinned(std::forward<decltype(args)>(args)...);
          },
          StateInto(&Frame::mutable_set_pinned_response));
      return;
    }
    case Frame::kSetMutedRequest: {
      im::client::v1::SetMutedRequest& in = *frame.mutable_set_muted_request();
      conv::SetMutedRequest request;
      request.set_uid(info.uid);
      request.mutable_channel()->Swap(in.mutable_channel());
      request.set_muted(in.muted());
      request.set_device_id(info.device_id);
      Forward<conv::ConversationState>(
          std::move(to), conversation_timeout_, std::move(request),
          [stub](auto&&... args) {
            stub->async()->SetMuted(std::forward<decltype(args)>(args)...);
          },
          StateInto(&Frame::mutable_set_muted_response));
      return;
    }
    default: {
      conv::GetChannelSeqsRequest request;
      request.set_uid(info.uid);
      request.mutable_channels()->Swap(frame.mutable_seq_snapshot_request()->mutable_channels());
      Forward<conv::GetChannelSeqsResponse>(
          std::move(to), conversation_timeout_, std::move(request),
          [stub](auto&&... args) {
            stub->async()->GetChannelSeqs(std::forward<decltype(args)>(args)...);
          },
          [](const grpc::Status& status, conv::GetChannelSeqsResponse* response, Frame* reply) {
            im::client::v1::SeqSnapshotResponse* out = reply->mutable_seq_snapshot_response();
            if (SetOutcome(status, out)) out->mutable_seqs()->Swap(response->mutable_seqs());
          });
      return;
    }
  }
}

void RequestHandler::HandleSeqSubscribe(const std::shared_ptr<Connection>& conn, const Frame& frame,
                                        Encoding encoding) {
  using im::client::v1::SeqSubscribeMode;
  Frame reply;
  reply.set_request_id(frame.request_id());
  im::client::v1::SeqSubscribeResponse* out = reply.mutable_seq_subscribe_response();
  out->set_reason(im::common::v1::REASON_CODE_SUCCESS);
  const SeqSubscribeMode mode = frame.seq_subscribe_request().mode();
  switch (mode) {
    case im::client::v1::SEQ_SUBSCRIBE_MODE_UNSPECIFIED:
    case im::client::v1::SEQ_SUBSCRIBE_MODE_FULL:
      conn->SetSeqOnly(false);
      break;
    case im::client::v1::SEQ_SUBSCRIBE_MODE_SEQ_ONLY:
      conn->SetSeqOnly(true);
      break;
    default:
      out->set_reason(im::common::v1::REASON_CODE_INVALID_ARGUMENT);
      out->set_message(absl::StrCat("unknown mode ", static_cast<int>(mode), "; the mode stays"));
      break;
  }
  out->set_mode(conn->seq_only() ? im::client::v1::SEQ_SUBSCRIBE_MODE_SEQ_ONLY
                                 : im::client::v1::SEQ_SUBSCRIBE_MODE_FULL);
  Reply(conn, reply, encoding);
}

void RequestHandler::HandleCmd(const std::shared_ptr<Connection>& conn, const Frame& frame,
                               Encoding encoding) {
  namespace msg = im::message::v1;
  const ConnectionInfo& info = conn->info();
  ReplyTo to{conn, frame.request_id(), encoding};
  CmdStub* stub = cmds_.get();
  if (frame.has_cmd_sync_request()) {
    msg::CmdSyncRequest request;
    request.set_uid(info.uid);
    request.set_device_id(info.device_id);
    request.set_after(frame.cmd_sync_request().after());
    request.set_limit(frame.cmd_sync_request().limit());
    Forward<msg::CmdSyncResponse>(
        std::move(to), message_timeout_, std::move(request),
        [stub](auto&&... args) { stub->async()->Sync(std::forward<decltype(args)>(args)...); },
        [](const grpc::Status& status, msg::CmdSyncResponse* response, Frame* reply) {
          im::client::v1::CmdSyncResponse* out = reply->mutable_cmd_sync_response();
          if (!SetOutcome(status, out)) return;
          out->mutable_entries()->Swap(response->mutable_entries());
          out->set_has_more(response->has_more());
        });
    return;
  }
  msg::CmdAckRequest request;
  request.set_uid(info.uid);
  request.set_device_id(info.device_id);
  request.set_up_to(frame.cmd_ack_request().up_to());
  Forward<msg::CmdAckResponse>(
      std::move(to), message_timeout_, std::move(request),
      [stub](auto&&... args) { stub->async()->Ack(std::forward<decltype(args)>(args)...); },
      [](const grpc::Status& status, msg::CmdAckResponse*, Frame* reply) {
        SetOutcome(status, reply->mutable_cmd_ack_response());
      });
}

void RequestHandler::HandleExtension(const std::shared_ptr<Connection>& conn, Frame frame,
                                     Encoding encoding) {
  namespace ext = im::extension::v1;
  const ConnectionInfo& info = conn->info();
  if (extensions_ == nullptr) {
    Reply(conn,
          RefusalFor(frame, im::common::v1::REASON_CODE_UNAVAILABLE,
                     "this gateway has no extension service (--extension_addr)"),
          encoding);
    return;
  }
  ReplyTo to{conn, frame.request_id(), encoding};
  ExtensionStub* stub = extensions_.get();
  if (frame.has_extension_set_request()) {
    im::client::v1::ExtensionSetRequest& in = *frame.mutable_extension_set_request();
    ext::SetRequest request;
    request.mutable_channel()->Swap(in.mutable_channel());
    request.set_message_id(in.message_id());
    if (in.has_status()) request.set_status(in.status());
    request.set_ext(std::move(*in.mutable_ext()));
    request.set_mode(in.mode());
    if (in.has_expected_version()) request.set_expected_version(in.expected_version());
    request.set_operator_uid(info.uid);
    request.set_from_client(true);
    Forward<ext::SetResponse>(
        std::move(to), extension_timeout_, std::move(request),
        [stub](auto&&... args) { stub->async()->Set(std::forward<decltype(args)>(args)...); },
        [](const grpc::Status& status, ext::SetResponse* response, Frame* reply) {
          im::client::v1::ExtensionSetResponse* out = reply->mutable_extension_set_response();
          if (SetOutcome(status, out)) {
            out->set_applied(response->applied());
            out->mutable_value()->Swap(response->mutable_value());
          } else if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
            GetDetails(FromGrpcStatus(status), out->mutable_value());
          }
        });
    return;
  }
  const im::client::v1::ExtensionSyncRequest& in = frame.extension_sync_request();
  ext::SyncRequest request;
  *request.mutable_channel() = in.channel();
  request.set_since_version(in.since_version());
  request.set_limit(in.limit());
  request.set_uid(info.uid);
  Forward<ext::SyncResponse>(
      std::move(to), extension_timeout_, std::move(request),
      [stub](auto&&... args) { stub->async()->Sync(std::forward<decltype(args)>(args)...); },
      [](const grpc::Status& status, ext::SyncResponse* response, Frame* reply) {
        im::client::v1::ExtensionSyncResponse* out = reply->mutable_extension_sync_response();
        if (!status.ok()) {
          out->set_reason(ChannelAccessReasonFor(status));
          out->set_message(status.error_message());
          return;
        }
        out->set_reason(im::common::v1::REASON_CODE_SUCCESS);
        out->mutable_values()->Swap(response->mutable_values());
        out->set_has_more(response->has_more());
        out->set_latest_version(response->latest_version());
      });
}

}  // namespace im::gateway
