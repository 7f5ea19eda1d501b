// One client WebSocket connection (Boost.Beast, async): the upgrade, the CONNECT handshake with
// authentication on the worker pool, the per-connection limits (frame size, idle timeout, rate
// limit, bounded write queue) and the write loop. Everything runs on the one thread of the
// connection's io_context; the session lives as long as a handler or the SessionHub holds it.
//
//   std::make_shared<WsSession>(std::move(socket), &deps)->Run();
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "common/coalescing_stream.h"
#include "common/worker_pool.h"
#include "services/gateway/authenticator.h"
#include "services/gateway/connection.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/gateway_options.h"
#include "services/gateway/kicker.h"
#include "services/gateway/presence_keeper.h"
#include "services/gateway/rate_limiter.h"
#include "services/gateway/request_handler.h"
#include "services/gateway/session_hub.h"

namespace im::gateway {

// What sessions share; outlives every session.
struct SessionDeps {
  const GatewayOptions* options;
  SessionHub* hub;
  const Authenticator* authenticator;
  WorkerPool* workers;
  PresenceKeeper* presence;
  Kicker* kicker;
  RequestHandler* handler;
  GatewayMetrics* metrics;
};

class WsSession final : public Connection, public std::enable_shared_from_this<WsSession> {
 public:
  // `socket` must be bound to an io_context that one thread runs.
  WsSession(IoSocket&& socket, const SessionDeps* deps);

  // Starts the WebSocket handshake.
  void Run();

  void Push(std::vector<OutFrame> frames) override;
  void Close(im::common::v1::ReasonCode reason, std::string message) override;

 private:
  enum class State { kHandshake, kAwaitConnect, kAuthenticating, kConnected, kClosing, kClosed };
  using Clock = std::chrono::steady_clock;

  void OnAccept(boost::beast::error_code ec);
  void DoRead();
  void OnRead(boost::beast::error_code ec, size_t bytes);
  void OnMessage(bool text);
  void OnConnect(const im::client::v1::Frame& frame, Encoding encoding);
  void OnAuthenticated(const absl::Status& status, const std::string& request_id);
  // The presence write was attempted: CONNACK and the pushes held meanwhile, then serve frames;
  // or, if it could not even be queued (`status`), refuse the CONNECT.
  void OnRegistered(const std::string& request_id, const absl::Status& status);
  // Answers CONNECT with a failing CONNACK and closes.
  void RefuseConnect(const std::string& request_id, im::common::v1::ReasonCode reason,
                     std::string message);

  // Queues a frame; over the queue bounds the connection is closed with SLOW_CONSUMER. `last`
  // is the final frame of a closing connection, which bypasses the bounds.
  void Enqueue(OutFrame frame, bool last = false);
  // Keeps a push that arrives between joining the hub and CONNACK, within the write queue's
  // bounds (beyond them: SLOW_CONSUMER), for OnRegistered to queue after the CONNACK.
  void Hold(OutFrame frame);
  void DoWrite();
  void OnWrite(boost::beast::error_code ec, size_t bytes);

  // Sends `last` (DISCONNECT or a failing CONNACK) after what is queued, then closes the
  // WebSocket; the socket is cut if that takes longer than the close timeout.
  void CloseWith(const im::client::v1::Frame& last, Encoding encoding);
  void CloseWithDisconnect(im::common::v1::ReasonCode reason, std::string message,
                           Encoding encoding);
  void StartClosingTimer();
  void CutSocket();

  void ArmTimer(Clock::time_point at);
  void OnTimer(boost::beast::error_code ec);

  // Out of the hub, and out of presence if it was the device's last connection here.
  void LeaveHub();

  // The read loop ended: the connection is gone.
  void Finish();

  const SessionDeps* deps_;
  // Queued frames are written corked, so a burst leaves the socket in one send, not one each.
  boost::beast::websocket::stream<CoalescingStream> ws_;
  boost::beast::flat_buffer buffer_;
  IoTimer timer_;
  State state_ = State::kHandshake;
  RateLimiter limiter_;
  Clock::time_point last_frame_;

  std::deque<OutFrame> queue_;
  size_t queued_bytes_ = 0;
  std::vector<OutFrame> held_;
  size_t held_bytes_ = 0;
  bool writing_ = false;
  bool close_started_ = false;
  bool counted_ = false;
  bool in_hub_ = false;
};

}  // namespace im::gateway
