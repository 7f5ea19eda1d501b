// Serves the frames of an authenticated connection (everything after CONNECT that the session does
// not handle itself): PING, SEND through the send batcher, RECVACK, SYNC_CHANNEL_MESSAGES through
// the message service, the conversation and seq requests through the conversation service, and
// SEQ_SUBSCRIBE (the connection's push mode), CMD_SYNC and CMD_ACK through the message service's
// CmdService (with the connection's uid and device), and the extension set and sync requests
// through the extension service (as the connection's uid, Set marked from_client). Every request
// acts as the connection's uid and device; a request naming another uid is refused with
// PERMISSION_DENIED. Answers go back through Connection::Push in the request's encoding; nothing
// here blocks.
//
//   handler.Handle(conn, std::move(frame), Encoding::kJson);
#pragma once

#include <memory>

#include "absl/time/time.h"
#include "im/client/v1/client.pb.h"
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

  // `frame` is decoded, has a body other than CONNECT and DISCONNECT, and passed the rate limit.
  void Handle(const std::shared_ptr<Connection>& conn, im::client::v1::Frame frame,
              Encoding encoding);

 private:
  void HandleSend(const std::shared_ptr<Connection>& conn, im::client::v1::Frame frame,
                  Encoding encoding);
  void HandleSync(const std::shared_ptr<Connection>& conn, im::client::v1::Frame frame,
                  Encoding encoding);
  // The conversation and seq requests: refused when they name another uid, otherwise forwarded
  // to the conversation service with the connection's uid (and device for changes).
  void HandleConversation(const std::shared_ptr<Connection>& conn, im::client::v1::Frame frame,
                          Encoding encoding);
  void HandleSeqSubscribe(const std::shared_ptr<Connection>& conn,
                          const im::client::v1::Frame& frame, Encoding encoding);
  // CMD_SYNC and CMD_ACK of this connection's device.
  void HandleCmd(const std::shared_ptr<Connection>& conn, const im::client::v1::Frame& frame,
                 Encoding encoding);
  // EXTENSION_SET (operator and from_client set here) and EXTENSION_SYNC (reader = the
  // connection's uid); a version mismatch answers with the current value.
  void HandleExtension(const std::shared_ptr<Connection>& conn, im::client::v1::Frame frame,
                       Encoding encoding);

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
