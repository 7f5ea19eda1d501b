// One WebSocket connection of the load generator (binary or JSON frames) on an io_context shared
// with thousands of others. ImClient spends a thread per connection, which cannot hold tens of
// thousands of connections on two cores; here every connection of a thread shares its io_context.
// Not thread-safe: create it, call it and get its callbacks on the io_context's one thread.
//
//   auto conn = LoadConnection::Create(io, Encoding::kBinary);
//   conn->Open(server, source, on_open, on_frame, on_close);   // then conn->Write(frame)
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "common/coalescing_stream.h"
#include "im/client/v1/client.pb.h"
#include "im/client/v1/frame_codec.h"

namespace im::load {

class LoadConnection : public std::enable_shared_from_this<LoadConnection> {
 public:
  // Empty `error` = the WebSocket is open.
  using OpenHandler = std::function<void(const std::string& error)>;
  // Every frame the server sent, answers and pushes alike.
  using FrameHandler = std::function<void(im::client::v1::Frame& frame)>;
  // Once, when an open connection ends (server close, error, Abort or Close).
  using CloseHandler = std::function<void(const std::string& reason)>;

  static std::shared_ptr<LoadConnection> Create(boost::asio::io_context& io,
                                                Encoding encoding = Encoding::kBinary);

  // Connects from `source` (a local address, port chosen by the kernel at connect time, so many
  // source addresses multiply the ephemeral ports) and upgrades to WebSocket.
  void Open(const boost::asio::ip::tcp::endpoint& server, const boost::asio::ip::address& source,
            OpenHandler on_open, FrameHandler on_frame, CloseHandler on_close);

  // Queues a frame; dropped when the connection is not open. Frames written while the
  // io_context has other handlers ready (the RECVACKs of pushes that arrived in one read) leave
  // in one socket send, as a client library batches them; the frames stay separate.
  void Write(const im::client::v1::Frame& frame);

  // Resets the TCP connection without a WebSocket close, as a lost network would.
  void Abort();

  bool open() const { return open_; }

  // Socket sends started so far (for tests: fewer than the frames written means batching).
  uint64_t socket_sends() const { return ws_.next_layer().sends(); }

 private:
  LoadConnection(boost::asio::io_context& io, Encoding encoding);
  void Read();
  void WriteNext();
  // Sends what is corked once the handlers ready now have run, unless they queued more.
  void FlushLater();
  void Finish(const std::string& reason);

  const Encoding encoding_;
  boost::beast::websocket::stream<CoalescingStream> ws_;
  boost::beast::flat_buffer buffer_;
  std::deque<std::string> writes_;
  std::string host_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  bool open_ = false;
  bool finished_ = false;
};

}  // namespace im::load
