// Serves the frames of an authenticated connection (everything after CONNECT that the session does
// not handle itself): PING, SEND through the send batcher, RECVACK, SYNC_CHANNEL_MESSAGES through
// the message service. Every request acts as the connection's uid and device. Answers go back
// through Connection::Push in the request's encoding; nothing here blocks.
//
//   handler.Handle(conn, std::move(frame), Encoding::kJson);
#pragma once

#include <memory>

#include "absl/time/time.h"
#include "im/client/v1/client.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "services/gateway/connection.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/send_batcher.h"

namespace im::gateway {

class RequestHandler {
 public:
  RequestHandler(SendBatcher* batcher,
                 std::shared_ptr<im::message::v1::MessageService::StubInterface> messages,
                 GatewayMetrics* metrics, absl::Duration timeout)
      : batcher_(batcher), messages_(std::move(messages)), metrics_(metrics), timeout_(timeout) {}

  // `frame` is decoded, has a body other than CONNECT and DISCONNECT, and passed the rate limit.
  void Handle(const std::shared_ptr<Connection>& conn, im::client::v1::Frame frame,
              Encoding encoding);

 private:
  void HandleSend(const std::shared_ptr<Connection>& conn, im::client::v1::Frame frame,
                  Encoding encoding);
  void HandleSync(const std::shared_ptr<Connection>& conn, im::client::v1::Frame frame,
                  Encoding encoding);

  SendBatcher* batcher_;
  const std::shared_ptr<im::message::v1::MessageService::StubInterface> messages_;
  GatewayMetrics* metrics_;
  const absl::Duration timeout_;
};

}  // namespace im::gateway
