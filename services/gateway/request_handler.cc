#include "services/gateway/request_handler.h"

#include <grpcpp/grpcpp.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/reason_codes.h"
#include "common/status.h"
#include "services/gateway/frames.h"
#include "services/message/public/channel_key.h"

namespace im::gateway {

using im::common::v1::ReasonCode;
namespace conv = im::conversation::v1;
namespace ext = im::extension::v1;
namespace msg = im::message::v1;

// What the gateway does with one body a client may send.
struct RequestHandler::Route {
  Frame::BodyCase body;
  void (RequestHandler::*serve)(const std::shared_ptr<Connection>&, Frame, Encoding);
  // Fills the typed answer of a refused request; null where ErrorResponse answers a refusal.
  void (*refuse)(const Frame& request, Frame* answer, ReasonCode reason, std::string message);
  // The uid the request names (empty: the connection's own); null where it names none.
  const std::string& (*named_uid)(const Frame& request);
};

namespace {

void Reply(const std::shared_ptr<Connection>& conn, const Frame& frame, Encoding encoding) {
  conn->Push({MakeOutFrame(frame, encoding)});
}

// Every typed response has the same reason and message fields; `kAnswer` is its mutable accessor.
template <auto kAnswer>
void RefuseIn(const Frame&, Frame* answer, ReasonCode reason, std::string message) {
  auto* out = (answer->*kAnswer)();
  out->set_reason(reason);
  out->set_message(std::move(message));
}

// A SENDACK also names the send it answers.
void RefuseSend(const Frame& request, Frame* answer, ReasonCode reason, std::string message) {
  RefuseIn<&Frame::mutable_sendack>(request, answer, reason, std::move(message));
  answer->mutable_sendack()->set_client_msg_no(request.send().client_msg_no());
}

// The uid field of the request body `kRequest` (its const accessor).
template <auto kRequest>
const std::string& UidIn(const Frame& frame) {
  return (frame.*kRequest)().uid();
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

// A stub's async method as Forward's `start`.
#define IM_ASYNC(stub, method) \
  [stub](auto&&... args) { stub->async()->method(std::forward<decltype(args)>(args)...); }

// Sets a typed response's reason (and message on failure) from `status`, with the reason the
// service that refused attached (NOT_SUBSCRIBER rather than PERMISSION_DENIED); true when it
// succeeded.
template <typename Out>
bool SetOutcome(const grpc::Status& status, Out* out) {
  out->set_reason(ReasonFor(status));
  if (!status.ok()) out->set_message(status.error_message());
  return status.ok();
}

// The conversation changes (read position, unread, delete, pin, mute) share one shape: the
// client's channel, the connection's uid and device, and the new state as the answer.
template <typename Request, typename In>
Request ChangeOf(const ConnectionInfo& info, In* in) {
  Request request;
  request.set_uid(info.uid);
  request.mutable_channel()->Swap(in->mutable_channel());
  request.set_device_id(info.device_id);
  return request;
}

// Fills the ConversationStateResponse in `field` of the reply with the state a change returned.
auto StateInto(im::client::v1::ConversationStateResponse* (Frame::*field)()) {
  return [field](const grpc::Status& status, conv::ConversationState* state, Frame* reply) {
    im::client::v1::ConversationStateResponse* out = (reply->*field)();
    if (SetOutcome(status, out)) out->mutable_state()->Swap(state);
  };
}

// A gateway started without --extension_addr answers extension requests UNAVAILABLE.
bool RefusedWithoutExtensions(const RequestHandler::ExtensionStub* extensions,
                              const std::shared_ptr<Connection>& conn, const Frame& frame,
                              Encoding encoding) {
  if (extensions != nullptr) return false;
  Reply(conn,
        RequestHandler::RefusalFor(frame, im::common::v1::REASON_CODE_UNAVAILABLE,
                                   "this gateway has no extension service (--extension_addr)"),
        encoding);
  return true;
}

}  // namespace

const RequestHandler::Route* RequestHandler::RouteOf(Frame::BodyCase body) {
  using R = RequestHandler;
  static constexpr Route kRoutes[] = {
      {Frame::kSend, &R::Send, &RefuseSend, nullptr},
      {Frame::kRecvack, &R::RecvAck, nullptr, nullptr},
      {Frame::kPing, &R::Ping, nullptr, nullptr},
      {Frame::kSyncChannelMessagesRequest, &R::SyncChannelMessages,
       &RefuseIn<&Frame::mutable_sync_channel_messages_response>, nullptr},
      {Frame::kSyncConversationsRequest, &R::SyncConversations,
       &RefuseIn<&Frame::mutable_sync_conversations_response>,
       &UidIn<&Frame::sync_conversations_request>},
      {Frame::kClearUnreadRequest, &R::ClearUnread,
       &RefuseIn<&Frame::mutable_clear_unread_response>, &UidIn<&Frame::clear_unread_request>},
      {Frame::kSetUnreadRequest, &R::SetUnread, &RefuseIn<&Frame::mutable_set_unread_response>,
       &UidIn<&Frame::set_unread_request>},
      {Frame::kDeleteConversationRequest, &R::DeleteConversation,
       &RefuseIn<&Frame::mutable_delete_conversation_response>,
       &UidIn<&Frame::delete_conversation_request>},
      {Frame::kSetPinnedRequest, &R::SetPinned, &RefuseIn<&Frame::mutable_set_pinned_response>,
       &UidIn<&Frame::set_pinned_request>},
      {Frame::kSetMutedRequest, &R::SetMuted, &RefuseIn<&Frame::mutable_set_muted_response>,
       &UidIn<&Frame::set_muted_request>},
      {Frame::kSeqSnapshotRequest, &R::SeqSnapshot,
       &RefuseIn<&Frame::mutable_seq_snapshot_response>, &UidIn<&Frame::seq_snapshot_request>},
      {Frame::kSeqSubscribeRequest, &R::SeqSubscribe,
       &RefuseIn<&Frame::mutable_seq_subscribe_response>, nullptr},
      {Frame::kCmdSyncRequest, &R::CmdSync, &RefuseIn<&Frame::mutable_cmd_sync_response>, nullptr},
      {Frame::kCmdAckRequest, &R::CmdAck, &RefuseIn<&Frame::mutable_cmd_ack_response>, nullptr},
      {Frame::kExtensionSetRequest, &R::ExtensionSet,
       &RefuseIn<&Frame::mutable_extension_set_response>, nullptr},
      {Frame::kExtensionSyncRequest, &R::ExtensionSync,
       &RefuseIn<&Frame::mutable_extension_sync_response>, nullptr},
  };
  for (const Route& route : kRoutes) {
    if (route.body == body) return &route;
  }
  return nullptr;
}

bool RequestHandler::IsClientRequest(Frame::BodyCase body) { return RouteOf(body) != nullptr; }

Frame RequestHandler::RefusalFor(const Frame& request, ReasonCode reason, std::string message) {
  Frame answer;
  answer.set_request_id(request.request_id());
  const Route* route = RouteOf(request.body_case());
  if (route != nullptr && route->refuse != nullptr) {
    route->refuse(request, &answer, reason, std::move(message));
  } else {
    RefuseIn<&Frame::mutable_error>(request, &answer, reason, std::move(message));
  }
  return answer;
}

void RequestHandler::Handle(const std::shared_ptr<Connection>& conn, Frame frame,
                            Encoding encoding) {
  const Route* route = RouteOf(frame.body_case());
  if (route == nullptr) {
    std::string why = "this frame body is only sent by servers";
    ReasonCode reason = im::common::v1::REASON_CODE_BAD_FRAME;
    if (frame.body_case() == Frame::kConnect) {
      why = "already connected; CONNECT is only valid as the first frame";
      reason = im::common::v1::REASON_CODE_INVALID_ARGUMENT;
    } else if (frame.body_case() == Frame::BODY_NOT_SET) {
      why = "frame has no body";
    }
    Reply(conn, ErrorFrame(frame.request_id(), reason, std::move(why)), encoding);
    return;
  }
  if (route->named_uid != nullptr) {
    const std::string& named = route->named_uid(frame);
    if (!named.empty() && named != conn->info().uid) {
      Reply(conn,
            RefusalFor(frame, im::common::v1::REASON_CODE_PERMISSION_DENIED,
                       "a connection acts only for its own uid; leave uid empty or set it to "
                       "yours"),
            encoding);
      return;
    }
  }
  (this->*route->serve)(conn, std::move(frame), encoding);
}

void RequestHandler::Ping(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding) {
  Frame pong;
  pong.set_request_id(frame.request_id());
  pong.mutable_pong()->set_server_time(absl::ToUnixMillis(absl::Now()));
  Reply(conn, pong, encoding);
}

void RequestHandler::Send(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding) {
  const ConnectionInfo& info = conn->info();
  im::client::v1::Send& send = *frame.mutable_send();
  absl::StatusOr<ChannelKey> key = ChannelKey::For(info.uid, send.channel());
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
  msg::SendItem item;
  *item.mutable_channel() = std::move(*send.mutable_channel());
  item.set_from_uid(info.uid);
  item.set_from_device_id(info.device_id);
  item.set_client_msg_no(send.client_msg_no());
  item.set_payload(std::move(*send.mutable_payload()));
  *item.mutable_flags() = send.flags();
  *item.mutable_recipient_uids() = std::move(*send.mutable_recipient_uids());

  // The SENDACK, whatever becomes of the send, answers with the request's ids.
  Frame ack_frame;
  ack_frame.set_request_id(frame.request_id());
  ack_frame.mutable_sendack()->set_client_msg_no(send.client_msg_no());
  auto done = [conn, ack_frame, encoding, metrics = metrics_,
               handed = absl::Now()](const SendOutcome& outcome) mutable {
    im::client::v1::SendAck* ack = ack_frame.mutable_sendack();
    if (!outcome.status.ok()) {
      ack->set_reason(ReasonFor(outcome.status));
      ack->set_message(outcome.status.error_message());
    } else {
      const msg::SendResult& result = outcome.result;
      ack->set_reason(result.reason());
      ack->set_message(result.message());
      ack->set_message_id(result.message_id());
      ack->set_message_seq(result.message_seq());
      ack->set_timestamp(result.timestamp());
      ack->set_duplicate(result.duplicate());
    }
    // Before the reply, so whoever sees the SENDACK also sees it counted.
    metrics->send_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - handed));
    Reply(conn, ack_frame, encoding);
  };
  if (!batcher_->Submit(*key, std::move(item), std::move(done))) {
    Reply(conn,
          RefusalFor(frame, im::common::v1::REASON_CODE_UNAVAILABLE,
                     "gateway send queue full; retry later"),
          encoding);
  }
}

void RequestHandler::RecvAck(const std::shared_ptr<Connection>&, Frame, Encoding) {
  // Only counted: delivery state is derivable from read and sync positions, and this protocol
  // version keeps no per-message delivered state.
  metrics_->recvacks->Increment();
}

void RequestHandler::SyncChannelMessages(const std::shared_ptr<Connection>& conn, Frame frame,
                                         Encoding encoding) {
  const im::client::v1::SyncChannelMessagesRequest& in = frame.sync_channel_messages_request();
  msg::SyncChannelMessagesRequest request;
  request.set_uid(conn->info().uid);
  *request.mutable_channel() = in.channel();
  request.set_start_seq(in.start_seq());
  request.set_end_seq(in.end_seq());
  request.set_limit(in.limit());
  request.set_direction(in.direction());
  MessageStub* stub = messages_.get();
  Forward<msg::SyncChannelMessagesResponse>(
      {conn, frame.request_id(), encoding}, message_timeout_, std::move(request),
      IM_ASYNC(stub, SyncChannelMessages),
      [](const grpc::Status& status, msg::SyncChannelMessagesResponse* response, Frame* reply) {
        im::client::v1::SyncChannelMessagesResponse* out =
            reply->mutable_sync_channel_messages_response();
        if (!SetOutcome(status, out)) return;
        out->mutable_messages()->Swap(response->mutable_messages());
        *out->mutable_covered() = response->covered();
        out->set_has_more(response->has_more());
      });
}

void RequestHandler::SyncConversations(const std::shared_ptr<Connection>& conn, Frame frame,
                                       Encoding encoding) {
  im::client::v1::SyncConversationsRequest& in = *frame.mutable_sync_conversations_request();
  conv::SyncRequest request;
  request.set_uid(conn->info().uid);
  request.set_cursor(std::move(*in.mutable_cursor()));
  request.set_limit(in.limit());
  request.set_msg_count(in.msg_count());
  request.set_only_unread(in.only_unread());
  *request.mutable_exclude_channel_types() = in.exclude_channel_types();
  ConversationStub* stub = conversations_.get();
  Forward<conv::SyncResponse>(
      {conn, frame.request_id(), encoding}, conversation_timeout_, std::move(request),
      IM_ASYNC(stub, Sync),
      [](const grpc::Status& status, conv::SyncResponse* response, Frame* reply) {
        im::client::v1::SyncConversationsResponse* out =
            reply->mutable_sync_conversations_response();
        if (!SetOutcome(status, out)) return;
        out->mutable_conversations()->Swap(response->mutable_conversations());
        out->mutable_deleted_channels()->Swap(response->mutable_deleted_channels());
        out->set_next_cursor(std::move(*response->mutable_next_cursor()));
        out->set_has_more(response->has_more());
      });
}

void RequestHandler::ClearUnread(const std::shared_ptr<Connection>& conn, Frame frame,
                                 Encoding encoding) {
  im::client::v1::ClearUnreadRequest* in = frame.mutable_clear_unread_request();
  auto request = ChangeOf<conv::ClearUnreadRequest>(conn->info(), in);
  request.set_read_seq(in->read_seq());
  ConversationStub* stub = conversations_.get();
  Forward<conv::ConversationState>({conn, frame.request_id(), encoding}, conversation_timeout_,
                                   std::move(request), IM_ASYNC(stub, ClearUnread),
                                   StateInto(&Frame::mutable_clear_unread_response));
}

void RequestHandler::SetUnread(const std::shared_ptr<Connection>& conn, Frame frame,
                               Encoding encoding) {
  im::client::v1::SetUnreadRequest* in = frame.mutable_set_unread_request();
  auto request = ChangeOf<conv::SetUnreadRequest>(conn->info(), in);
  request.set_unread(in->unread());
  ConversationStub* stub = conversations_.get();
  Forward<conv::ConversationState>({conn, frame.request_id(), encoding}, conversation_timeout_,
                                   std::move(request), IM_ASYNC(stub, SetUnread),
                                   StateInto(&Frame::mutable_set_unread_response));
}

void RequestHandler::DeleteConversation(const std::shared_ptr<Connection>& conn, Frame frame,
                                        Encoding encoding) {
  auto request =
      ChangeOf<conv::DeleteRequest>(conn->info(), frame.mutable_delete_conversation_request());
  ConversationStub* stub = conversations_.get();
  Forward<conv::ConversationState>({conn, frame.request_id(), encoding}, conversation_timeout_,
                                   std::move(request), IM_ASYNC(stub, Delete),
                                   StateInto(&Frame::mutable_delete_conversation_response));
}

void RequestHandler::SetPinned(const std::shared_ptr<Connection>& conn, Frame frame,
                               Encoding encoding) {
  im::client::v1::SetPinnedRequest* in = frame.mutable_set_pinned_request();
  auto request = ChangeOf<conv::SetPinnedRequest>(conn->info(), in);
  request.set_pinned(in->pinned());
  ConversationStub* stub = conversations_.get();
  Forward<conv::ConversationState>({conn, frame.request_id(), encoding}, conversation_timeout_,
                                   std::move(request), IM_ASYNC(stub, SetPinned),
                                   StateInto(&Frame::mutable_set_pinned_response));
}

void RequestHandler::SetMuted(const std::shared_ptr<Connection>& conn, Frame frame,
                              Encoding encoding) {
  im::client::v1::SetMutedRequest* in = frame.mutable_set_muted_request();
  auto request = ChangeOf<conv::SetMutedRequest>(conn->info(), in);
  request.set_muted(in->muted());
  ConversationStub* stub = conversations_.get();
  Forward<conv::ConversationState>({conn, frame.request_id(), encoding}, conversation_timeout_,
                                   std::move(request), IM_ASYNC(stub, SetMuted),
                                   StateInto(&Frame::mutable_set_muted_response));
}

void RequestHandler::SeqSnapshot(const std::shared_ptr<Connection>& conn, Frame frame,
                                 Encoding encoding) {
  conv::GetChannelSeqsRequest request;
  request.set_uid(conn->info().uid);
  request.mutable_channels()->Swap(frame.mutable_seq_snapshot_request()->mutable_channels());
  ConversationStub* stub = conversations_.get();
  Forward<conv::GetChannelSeqsResponse>(
      {conn, frame.request_id(), encoding}, conversation_timeout_, std::move(request),
      IM_ASYNC(stub, GetChannelSeqs),
      [](const grpc::Status& status, conv::GetChannelSeqsResponse* response, Frame* reply) {
        im::client::v1::SeqSnapshotResponse* out = reply->mutable_seq_snapshot_response();
        if (SetOutcome(status, out)) out->mutable_seqs()->Swap(response->mutable_seqs());
      });
}

void RequestHandler::SeqSubscribe(const std::shared_ptr<Connection>& conn, Frame frame,
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

void RequestHandler::CmdSync(const std::shared_ptr<Connection>& conn, Frame frame,
                             Encoding encoding) {
  msg::CmdSyncRequest request;
  request.set_uid(conn->info().uid);
  request.set_device_id(conn->info().device_id);
  request.set_after(frame.cmd_sync_request().after());
  request.set_limit(frame.cmd_sync_request().limit());
  CmdStub* stub = cmds_.get();
  Forward<msg::CmdSyncResponse>(
      {conn, frame.request_id(), encoding}, message_timeout_, std::move(request),
      IM_ASYNC(stub, Sync),
      [](const grpc::Status& status, msg::CmdSyncResponse* response, Frame* reply) {
        im::client::v1::CmdSyncResponse* out = reply->mutable_cmd_sync_response();
        if (!SetOutcome(status, out)) return;
        out->mutable_entries()->Swap(response->mutable_entries());
        out->set_has_more(response->has_more());
      });
}

void RequestHandler::CmdAck(const std::shared_ptr<Connection>& conn, Frame frame,
                            Encoding encoding) {
  msg::CmdAckRequest request;
  request.set_uid(conn->info().uid);
  request.set_device_id(conn->info().device_id);
  request.set_up_to(frame.cmd_ack_request().up_to());
  CmdStub* stub = cmds_.get();
  Forward<msg::CmdAckResponse>({conn, frame.request_id(), encoding}, message_timeout_,
                               std::move(request), IM_ASYNC(stub, Ack),
                               [](const grpc::Status& status, msg::CmdAckResponse*, Frame* reply) {
                                 SetOutcome(status, reply->mutable_cmd_ack_response());
                               });
}

void RequestHandler::ExtensionSet(const std::shared_ptr<Connection>& conn, Frame frame,
                                  Encoding encoding) {
  if (RefusedWithoutExtensions(extensions_.get(), conn, frame, encoding)) return;
  im::client::v1::ExtensionSetRequest& in = *frame.mutable_extension_set_request();
  ext::SetRequest request;
  request.mutable_channel()->Swap(in.mutable_channel());
  request.set_message_id(in.message_id());
  if (in.has_status()) request.set_status(in.status());
  request.set_ext(std::move(*in.mutable_ext()));
  request.set_mode(in.mode());
  if (in.has_expected_version()) request.set_expected_version(in.expected_version());
  request.set_operator_uid(conn->info().uid);
  request.set_from_client(true);
  ExtensionStub* stub = extensions_.get();
  Forward<ext::SetResponse>(
      {conn, frame.request_id(), encoding}, extension_timeout_, std::move(request),
      IM_ASYNC(stub, Set),
      [](const grpc::Status& status, ext::SetResponse* response, Frame* reply) {
        im::client::v1::ExtensionSetResponse* out = reply->mutable_extension_set_response();
        if (SetOutcome(status, out)) {
          out->set_applied(response->applied());
          out->mutable_value()->Swap(response->mutable_value());
        } else if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
          GetDetails(FromGrpcStatus(status), out->mutable_value());
        }
      });
}

void RequestHandler::ExtensionSync(const std::shared_ptr<Connection>& conn, Frame frame,
                                   Encoding encoding) {
  if (RefusedWithoutExtensions(extensions_.get(), conn, frame, encoding)) return;
  const im::client::v1::ExtensionSyncRequest& in = frame.extension_sync_request();
  ext::SyncRequest request;
  *request.mutable_channel() = in.channel();
  request.set_since_version(in.since_version());
  request.set_limit(in.limit());
  request.set_uid(conn->info().uid);
  ExtensionStub* stub = extensions_.get();
  Forward<ext::SyncResponse>(
      {conn, frame.request_id(), encoding}, extension_timeout_, std::move(request),
      IM_ASYNC(stub, Sync),
      [](const grpc::Status& status, ext::SyncResponse* response, Frame* reply) {
        im::client::v1::ExtensionSyncResponse* out = reply->mutable_extension_sync_response();
        if (!SetOutcome(status, out)) return;
        out->mutable_values()->Swap(response->mutable_values());
        out->set_has_more(response->has_more());
        out->set_latest_version(response->latest_version());
      });
}

}  // namespace im::gateway
