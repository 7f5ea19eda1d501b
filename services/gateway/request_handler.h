// Serves the frames of an authenticated connection (everything after CONNECT that the session does
// not handle itself). One table in request_handler.cc names every body a client may send, with
// the method that serves it, the typed answer a refusal of it gets, and the uid field it may name;
// every other body is sent only by servers. Requests go to the message service (SEND through the
// send batcher, channel sync, cmd sync and ack), the conversation service (conversation sync,
// read positions, unread, delete, pin, mute, seq snapshot) and the extension service (set as a
// client, sync), always as the connection's uid and device: a request naming another uid is
// refused with PERMISSION_DENIED. Answers go back through Connection::Push in the request's
// encoding; nothing here blocks.
//
//   handler.Handle(conn, std::move(frame), Encoding::kJson);
//
// A new client request is one row in the table and one method here.
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "im/client/v1/client.pb.h"
#include "im/common/v1/common.pb.h"
#include "im/conversation/v1/conversation.grpc.pb.h"
#include "im/extension/v1/extension.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "services/gateway/connection.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/gateway_options.h"
#include "services/gateway/send_batcher.h"

namespace im::gateway {

class RequestHandler {
 public:
  using Frame = im::client::v1::Frame;
  using MessageStub = im::message::v1::MessageService::StubInterface;
  using CmdStub = im::message::v1::CmdService::StubInterface;
  using ConversationStub = im::conversation::v1::ConversationService::StubInterface;
  using ExtensionStub = im::extension::v1::ExtensionService::StubInterface;

  // Calls get the deadlines `options` sets (message_timeout, also for `cmds`,
  // conversation_timeout, extension_timeout); client_cmds decides whether SENDs may be cmds.
  // Without `extensions` (null) extension requests answer UNAVAILABLE.
  RequestHandler(SendBatcher* batcher, std::shared_ptr<MessageStub> messages,
                 std::shared_ptr<CmdStub> cmds, std::shared_ptr<ConversationStub> conversations,
                 std::shared_ptr<ExtensionStub> extensions, GatewayMetrics* metrics,
                 const GatewayOptions& options)
      : batcher_(batcher),
        messages_(std::move(messages)),
        cmds_(std::move(cmds)),
        conversations_(std::move(conversations)),
        extensions_(std::move(extensions)),
        metrics_(metrics),
        message_timeout_(options.message_timeout),
        conversation_timeout_(options.conversation_timeout),
        extension_timeout_(options.extension_timeout),
        client_cmds_(options.client_cmds) {}

  // `frame` is decoded, is not DISCONNECT, and passed the rate limit. No body or a body only
  // servers send answers BAD_FRAME, a second CONNECT INVALID_ARGUMENT, each with the request_id.
  void Handle(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);

  // The answer to `request` when it is refused before being served (rate limit, busy, another
  // uid): its typed response where it has one (a SENDACK carries the client_msg_no),
  // ErrorResponse otherwise.
  static Frame RefusalFor(const Frame& request, im::common::v1::ReasonCode reason,
                          std::string message);

  // Whether a client may send `body` after CONNECT.
  static bool IsClientRequest(Frame::BodyCase body);

 private:
  struct Route;
  static const Route* RouteOf(Frame::BodyCase body);

  // The methods the routes name, one per request body.
  void Ping(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void Send(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void RecvAck(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void SyncChannelMessages(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void SyncConversations(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void ClearUnread(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void SetUnread(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void DeleteConversation(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void SetPinned(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void SetMuted(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void SeqSnapshot(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void SeqSubscribe(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void CmdSync(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void CmdAck(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  // As the connection's uid, marked from_client; a version mismatch answers with the current
  // value.
  void ExtensionSet(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);
  void ExtensionSync(const std::shared_ptr<Connection>& conn, Frame frame, Encoding encoding);

  SendBatcher* batcher_;
  const std::shared_ptr<MessageStub> messages_;
  const std::shared_ptr<CmdStub> cmds_;
  const std::shared_ptr<ConversationStub> conversations_;
  const std::shared_ptr<ExtensionStub> extensions_;
  GatewayMetrics* metrics_;
  const absl::Duration message_timeout_;
  const absl::Duration conversation_timeout_;
  const absl::Duration extension_timeout_;
  const bool client_cmds_;
};

}  // namespace im::gateway
