// LoadConnection against a real Beast WebSocket server over loopback TCP: frames written in one
// handler pass (the RECVACKs of pushes read together) arrive complete, in order and as separate
// frames, in one socket send; a frame written alone later still leaves without waiting for more.
#include "tools/bench/load/load_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "im/client/v1/frame_codec.h"

namespace im::load {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using net::ip::tcp;

constexpr int kBurst = 10;

im::client::v1::Frame Numbered(int i) {
  im::client::v1::Frame frame;
  frame.set_request_id("r" + std::to_string(i));
  frame.mutable_ping();
  return frame;
}

// Accepts one WebSocket connection on a thread and records the request_id of every frame it reads.
class RecordingServer {
 public:
  RecordingServer() : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~RecordingServer() { thread_.join(); }

  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }

 private:
  void Serve() {
    websocket::stream<tcp::socket> ws(acceptor_.accept());
    ws.accept();
    for (;;) {
      beast::flat_buffer buffer;
      beast::error_code ec;
      ws.read(buffer, ec);
      if (ec) return;
      const auto data = buffer.cdata();
      absl::StatusOr<im::client::v1::Frame> frame =
          DecodeFrame(std::string_view(static_cast<const char*>(data.data()), data.size()),
                      Encoding::kBinary, std::numeric_limits<size_t>::max());
      std::lock_guard<std::mutex> lock(mu_);
      ids_.push_back(frame.ok() ? frame->request_id() : "undecodable");
    }
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> ids_;
};

// Runs `io` until `done` or 5 s.
template <class Done>
bool RunUntil(net::io_context& io, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(LoadConnectionTest, FramesWrittenTogetherLeaveInOneSendAndALaterOneIsNotHeld) {
  RecordingServer server;
  net::io_context io;
  std::shared_ptr<LoadConnection> conn = LoadConnection::Create(io);
  std::string open_error = "not opened";
  conn->Open(
      server.endpoint(), net::ip::make_address("127.0.0.1"),
      [&](const std::string& error) {
        open_error = error;
        if (!error.empty()) return;
        for (int i = 0; i < kBurst; ++i) conn->Write(Numbered(i));
      },
      [](im::client::v1::Frame&) {}, [](const std::string&) {});

  ASSERT_TRUE(RunUntil(io, [&] { return server.ids().size() >= kBurst; })) << open_error;
  std::vector<std::string> expected;
  for (int i = 0; i < kBurst; ++i) expected.push_back("r" + std::to_string(i));
  EXPECT_EQ(server.ids(), expected);
  // One send for the upgrade request, one for the whole burst.
  EXPECT_EQ(conn->socket_sends(), 2u);

  net::post(io, [&] { conn->Write(Numbered(kBurst)); });
  ASSERT_TRUE(RunUntil(io, [&] { return server.ids().size() == kBurst + 1; }));
  EXPECT_EQ(server.ids().back(), "r" + std::to_string(kBurst));
  EXPECT_EQ(conn->socket_sends(), 3u);

  conn->Abort();
  io.restart();
  io.run_for(std::chrono::milliseconds(50));
}

}  // namespace
}  // namespace im::load
