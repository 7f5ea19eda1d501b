#include "services/gateway/ws_listener.h"

#include <boost/asio/post.hpp>
#include <chrono>
#include <future>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace im::gateway {

namespace net = boost::asio;
using net::ip::tcp;

WsListener::WsListener(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    contexts_.push_back(std::make_unique<net::io_context>(1));
    guards_.push_back(net::make_work_guard(*contexts_.back()));
  }
}

WsListener::~WsListener() { Stop(); }

absl::StatusOr<int> WsListener::Listen(const std::string& host, int port, const SessionDeps* deps) {
  deps_ = deps;
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("bad listen address ", host));
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  acceptor_.emplace(*contexts_.front());
  retry_timer_.emplace(*contexts_.front());
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("WebSocket listener on ", host, ":", port, ": ", ec.message()));
  }
  const int bound = acceptor_->local_endpoint().port();
  DoAccept();
  for (auto& context : contexts_) {
    threads_.emplace_back([context = context.get()] { context->run(); });
  }
  return bound;
}

void WsListener::DoAccept() {
  net::io_context& target = *contexts_[next_++ % contexts_.size()];
  acceptor_->async_accept(target.get_executor(),
                          [this](boost::system::error_code ec, IoSocket socket) {
                            if (ec == net::error::operation_aborted || !acceptor_->is_open()) {
                              return;
                            }
                            if (ec) {
                              log::Warning("ws_accept_failed", {{"error", ec.message()}});
                              retry_timer_->expires_after(std::chrono::milliseconds(100));
                              retry_timer_->async_wait([this](boost::system::error_code ec) {
                                if (!ec && acceptor_->is_open()) DoAccept();
                              });
                              return;
                            }
                            boost::system::error_code ignored;
                            socket.set_option(tcp::no_delay(true), ignored);
                            std::make_shared<WsSession>(std::move(socket), deps_)->Run();
                            DoAccept();
                          });
}

void WsListener::StopAccepting() {
  if (!acceptor_.has_value() || contexts_.empty()) return;
  std::promise<void> done;
  net::post(*contexts_.front(), [this, &done] {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
    retry_timer_->cancel();
    done.set_value();
  });
  if (!threads_.empty()) done.get_future().wait();
}

void WsListener::Stop() {
  for (auto& guard : guards_) guard.reset();
  for (auto& context : contexts_) context->stop();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace im::gateway
