// CoalescingStream under a real Beast WebSocket over loopback TCP: bursts arrive complete, in
// order and as separate messages in fewer socket sends than frames; a reader that stops reading
// stops the writer; the close handshake still completes after a burst.
#include "common/coalescing_stream.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace im {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using net::ip::tcp;

using ServerWs = websocket::stream<CoalescingStream>;
using ClientWs = websocket::stream<tcp::socket>;

// A connected server (CoalescingStream under Beast, driven by `io`) and a synchronous client.
struct Pair {
  net::io_context io;
  net::io_context client_io;
  std::unique_ptr<ServerWs> server;
  std::unique_ptr<ClientWs> client;

  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    client = std::make_unique<ClientWs>(client_io);
    std::thread connect([&] {
      client->next_layer().connect(acceptor.local_endpoint());
      client->handshake("127.0.0.1", "/");
    });
    server = std::make_unique<ServerWs>(acceptor.accept(io.get_executor()));
    bool accepted = false;
    server->async_accept([&](beast::error_code ec) { accepted = !ec; });
    io.run();
    io.restart();
    connect.join();
    EXPECT_TRUE(accepted);
  }
};

std::string Payload(int i, size_t size) {
  std::string payload = std::to_string(i) + ":";
  payload.resize(size, static_cast<char>('a' + i % 26));
  return payload;
}

// `count` distinct payloads of `size` bytes each.
std::vector<std::string> Payloads(int count, size_t size) {
  std::vector<std::string> payloads;
  for (int i = 0; i < count; ++i) payloads.push_back(Payload(i, size));
  return payloads;
}

// Writes `payloads` one message at a time, corked as WsSession writes its queue, alternating
// binary and text; `done` gets the first error (or success) once all are written.
class BurstWriter {
 public:
  BurstWriter(ServerWs* ws, std::vector<std::string> payloads)
      : ws_(ws), payloads_(std::move(payloads)) {}

  void Start() { Next(); }
  size_t written() const { return written_; }
  beast::error_code error() const { return error_; }
  bool finished() const { return finished_; }

 private:
  void Next() {
    if (written_ == payloads_.size()) {
      ws_->next_layer().Uncork();
      finished_ = true;
      return;
    }
    ws_->next_layer().Cork();
    ws_->text(written_ % 2 == 1);
    ws_->async_write(net::buffer(payloads_[written_]), [this](beast::error_code ec, size_t) {
      if (ec) {
        error_ = ec;
        finished_ = true;
        return;
      }
      ++written_;
      Next();
    });
  }

  ServerWs* ws_;
  std::vector<std::string> payloads_;
  size_t written_ = 0;
  beast::error_code error_;
  bool finished_ = false;
};

TEST(CoalescingStreamTest, BurstArrivesCompleteInOrderInFewSends) {
  Pair pair;
  constexpr int kFrames = 2000;
  constexpr size_t kSize = 100;
  const std::vector<std::string> payloads = Payloads(kFrames, kSize);

  std::vector<std::pair<std::string, bool>> got;
  std::thread reader([&] {
    for (int i = 0; i < kFrames; ++i) {
      beast::flat_buffer buffer;
      beast::error_code ec;
      pair.client->read(buffer, ec);
      if (ec) return;
      got.emplace_back(beast::buffers_to_string(buffer.data()), pair.client->got_text());
    }
  });
  BurstWriter writer(pair.server.get(), payloads);
  writer.Start();
  pair.io.run();
  reader.join();

  EXPECT_FALSE(writer.error());
  ASSERT_EQ(got.size(), payloads.size());
  for (int i = 0; i < kFrames; ++i) {
    ASSERT_EQ(got[i].first, payloads[i]) << "message " << i;
    EXPECT_EQ(got[i].second, i % 2 == 1) << "message " << i;
  }
  // Corked, a send leaves only when kMaxPendingBytes are pending or the burst ends; one more
  // was the handshake's answer.
  const size_t wire_bytes = kFrames * (kSize + 2);
  EXPECT_LE(pair.server->next_layer().sends(),
            1 + wire_bytes / CoalescingStream::kMaxPendingBytes + 1);
}

TEST(CoalescingStreamTest, UncorkedWritesAreSentWithoutWaitingForMore) {
  Pair pair;
  pair.server->binary(true);
  bool done = false;
  pair.server->async_write(net::buffer(std::string("alone")),
                           [&](beast::error_code ec, size_t) { done = !ec; });
  pair.io.run();
  ASSERT_TRUE(done);
  beast::flat_buffer buffer;
  pair.client->read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "alone");
  EXPECT_EQ(pair.server->next_layer().sends(), 2u);  // The handshake's answer, then the frame.
}

TEST(CoalescingStreamTest, ReaderThatStopsReadingStopsTheWriter) {
  Pair pair;
  // Far more than the socket buffers and the pending bound hold together.
  constexpr int kFrames = 4096;
  constexpr size_t kSize = 16 * 1024;
  const std::vector<std::string> payloads = Payloads(kFrames, kSize);
  BurstWriter writer(pair.server.get(), payloads);
  writer.Start();
  // Run until no write completes for a while: the writer is blocked on the unread socket.
  size_t last = 0;
  do {
    last = writer.written();
    pair.io.run_for(std::chrono::milliseconds(300));
  } while (writer.written() != last);
  EXPECT_FALSE(writer.finished());
  EXPECT_LT(writer.written(), payloads.size() / 2);

  // Reading again lets every frame through, in order.
  std::thread io_thread([&] { pair.io.run(); });
  for (int i = 0; i < kFrames; ++i) {
    beast::flat_buffer buffer;
    pair.client->read(buffer);
    ASSERT_EQ(beast::buffers_to_string(buffer.data()), payloads[i]) << "message " << i;
  }
  io_thread.join();
  EXPECT_TRUE(writer.finished());
  EXPECT_FALSE(writer.error());
}

TEST(CoalescingStreamTest, CloseHandshakeAfterBurst) {
  Pair pair;
  constexpr int kFrames = 500;
  const std::vector<std::string> payloads = Payloads(kFrames, 50);
  BurstWriter writer(pair.server.get(), payloads);
  writer.Start();
  pair.io.run();
  ASSERT_TRUE(writer.finished());
  beast::error_code close_ec = websocket::error::closed;
  pair.server->async_close(websocket::close_code::normal,
                           [&](beast::error_code ec) { close_ec = ec; });
  // The server's close waits for the client's answer; read on its own thread meanwhile.
  pair.io.restart();
  std::thread io_thread([&] { pair.io.run(); });
  int read = 0;
  beast::error_code ec;
  for (;;) {
    beast::flat_buffer buffer;
    pair.client->read(buffer, ec);
    if (ec) break;
    ASSERT_EQ(beast::buffers_to_string(buffer.data()), payloads[read]);
    ++read;
  }
  io_thread.join();
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(read, kFrames);
  EXPECT_EQ(pair.client->reason().code, websocket::close_code::normal);
  EXPECT_FALSE(close_ec) << close_ec.message();
}

TEST(CoalescingStreamTest, PeerCloseIsAnswered) {
  Pair pair;
  // The client closes; the server's read answers the close frame through the layer and tears
  // down, and the client's close only returns once that answer arrived.
  beast::error_code read_ec;
  beast::flat_buffer server_buffer;
  pair.server->async_read(server_buffer, [&](beast::error_code ec, size_t) { read_ec = ec; });
  std::thread io_thread([&] { pair.io.run(); });
  pair.client->close(websocket::close_code::going_away);
  io_thread.join();
  EXPECT_EQ(read_ec, websocket::error::closed);
  EXPECT_EQ(pair.server->reason().code, websocket::close_code::going_away);
}

TEST(CoalescingStreamTest, FailedSendFailsLaterWrites) {
  Pair pair;
  // The peer resets the connection; the writer must get an error, not block or succeed forever.
  pair.client->next_layer().set_option(net::socket_base::linger(true, 0));
  pair.client->next_layer().close();
  constexpr int kFrames = 4096;
  const std::vector<std::string> payloads = Payloads(kFrames, 1024);
  BurstWriter writer(pair.server.get(), payloads);
  writer.Start();
  pair.io.run();
  EXPECT_TRUE(writer.finished());
  EXPECT_TRUE(writer.error());
  EXPECT_LT(writer.written(), payloads.size());
}

}  // namespace
}  // namespace im
