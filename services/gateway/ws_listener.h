// The WebSocket front door: one io_context per thread, an acceptor on the first, and each accepted
// socket bound to the next io_context in turn, so connections spread over the threads. One thread
// runs each io_context, so a connection's handlers never run concurrently without a strand (whose
// type-erased, reference-counted executor and lock were ~10% of the gateway's perf samples in
// group fan-out).
//
//   WsListener listener(4);
//   absl::StatusOr<int> port = listener.Listen("0.0.0.0", 8080, &deps);
//   ...
//   listener.StopAccepting();
//   listener.Stop();
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "services/gateway/ws_session.h"

namespace im::gateway {

class WsListener {
 public:
  explicit WsListener(int threads);
  // Stops and joins; sessions still held elsewhere must be released before this.
  ~WsListener();

  // Binds host:port (0 = any free port), starts accepting and the I/O threads; returns the bound
  // port. UNAVAILABLE when it cannot bind. `deps` must outlive the listener's threads.
  absl::StatusOr<int> Listen(const std::string& host, int port, const SessionDeps* deps);

  // Closes the acceptor; open connections go on.
  void StopAccepting();

  // Stops every io_context and joins the threads; handlers not run are dropped. Idempotent.
  void Stop();

 private:
  void DoAccept();

  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  // Spaces out accepts after a failure: with no file descriptors left every accept fails at once,
  // and retrying immediately would spin a core and flood the log.
  std::optional<boost::asio::steady_timer> retry_timer_;
  const SessionDeps* deps_ = nullptr;
  size_t next_ = 0;
};

}  // namespace im::gateway
