#include "tools/bench/load/load_connection.h"

#include <netinet/in.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "im/client/v1/frame_codec.h"

namespace im::load {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

std::shared_ptr<LoadConnection> LoadConnection::Create(net::io_context& io, Encoding encoding) {
  return std::shared_ptr<LoadConnection>(new LoadConnection(io, encoding));
}

LoadConnection::LoadConnection(net::io_context& io, Encoding encoding)
    : encoding_(encoding), ws_(IoSocket(io)) {}

void LoadConnection::Open(const tcp::endpoint& server, const net::ip::address& source,
                          OpenHandler on_open, FrameHandler on_frame, CloseHandler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  host_ = absl::StrCat(server.address().to_string(), ":", server.port());
  ws_.next_layer().SetOwner(weak_from_this());
  IoSocket& socket = beast::get_lowest_layer(ws_).socket();
  beast::error_code ec;
  socket.open(tcp::v4(), ec);
  if (!ec) {
    // Without this, bind() picks the port alone and one source address gives at most one
    // connection per ephemeral port across all servers.
    const int on = 1;
    setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
    socket.bind(tcp::endpoint(source, 0), ec);
  }
  if (ec) {
    finished_ = true;
    on_open(absl::StrCat("socket from ", source.to_string(), ": ", ec.message()));
    return;
  }
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(ws_).async_connect(
      server, [self = shared_from_this(), on_open = std::move(on_open)](beast::error_code ec) {
        if (ec) {
          self->finished_ = true;
          return on_open(absl::StrCat("connect: ", ec.message()));
        }
        // Nagle would hold a small SEND until the previous segment is acked (up to the peer's
        // 40 ms delayed ACK), as a real app's socket would not.
        beast::error_code ignored;
        beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true), ignored);
        self->ws_.binary(self->encoding_ == Encoding::kBinary);
        self->ws_.async_handshake(self->host_, "/", [self, on_open](beast::error_code ec) {
          beast::get_lowest_layer(self->ws_).expires_never();
          if (ec) {
            self->finished_ = true;
            return on_open(absl::StrCat("handshake: ", ec.message()));
          }
          self->open_ = true;
          self->Read();
          on_open("");
        });
      });
}

void LoadConnection::Read() {
  ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) {
      const websocket::close_reason& reason = self->ws_.reason();
      self->Finish(ec == websocket::error::closed
                       ? absl::StrCat("closed by the server (", reason.code, ") ",
                                      std::string(reason.reason.data(), reason.reason.size()))
                       : ec.message());
      return;
    }
    const auto data = self->buffer_.cdata();
    absl::StatusOr<im::client::v1::Frame> frame = DecodeFrame(
        std::string_view(static_cast<const char*>(data.data()), data.size()), self->encoding_,
        std::numeric_limits<size_t>::max(), UnknownJsonFields::kIgnore);
    self->buffer_.consume(self->buffer_.size());
    if (frame.ok() && self->on_frame_) self->on_frame_(*frame);
    if (self->open_) self->Read();
  });
}

void LoadConnection::Write(const im::client::v1::Frame& frame) {
  if (!open_) return;
  writes_.push_back(EncodeFrame(frame, encoding_));
  if (writes_.size() == 1) WriteNext();
}

void LoadConnection::WriteNext() {
  ws_.next_layer().Cork();
  ws_.async_write(net::buffer(writes_.front()),
                  [self = shared_from_this()](beast::error_code ec, size_t) {
                    if (ec) {
                      self->writes_.clear();
                      return;  // The read fails too and ends the connection.
                    }
                    self->writes_.pop_front();
                    if (self->writes_.empty()) {
                      self->FlushLater();
                    } else {
                      self->WriteNext();
                    }
                  });
}

void LoadConnection::FlushLater() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    if (self->writes_.empty()) self->ws_.next_layer().Uncork();
  });
}

void LoadConnection::Abort() {
  IoSocket& socket = beast::get_lowest_layer(ws_).socket();
  if (socket.is_open()) {
    beast::error_code ec;
    // Linger 0: an RST, and no TIME_WAIT holding the port through a reconnect storm.
    socket.set_option(net::socket_base::linger(true, 0), ec);
    socket.close(ec);
  }
  Finish("aborted by the client");
}

void LoadConnection::Finish(const std::string& reason) {
  open_ = false;
  if (finished_) return;
  finished_ = true;
  if (on_close_) {
    CloseHandler on_close = std::move(on_close_);
    on_close(reason);
  }
  on_frame_ = nullptr;
}

}  // namespace im::load
