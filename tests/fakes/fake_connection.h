// A gateway Connection that records what it is given instead of writing to a socket, for tests of
// the classes that route to connections (SessionHub, Deliverer, Kicker, PresenceKeeper,
// RequestHandler). Thread-safe: answers to forwarded requests arrive on gRPC threads, which
// WaitForFrames waits for.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/gateway/connection.h"

namespace im::gateway {

class FakeConnection : public Connection {
 public:
  FakeConnection(std::string uid, std::string device_id, int flag,
                 Encoding encoding = Encoding::kBinary) {
    info_.uid = std::move(uid);
    info_.device_id = std::move(device_id);
    info_.device_flag = flag;
    info_.encoding = encoding;
  }

  // Pushes (request_id empty) must use the connection's encoding; answers use their request's.
  void Push(std::vector<OutFrame> frames) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++pushes;
    for (OutFrame& frame : frames) {
      absl::StatusOr<im::client::v1::Frame> decoded =
          DecodeFrame(*frame.data, frame.encoding, 1 << 20);
      EXPECT_TRUE(decoded.ok()) << decoded.status();
      if (!decoded.ok()) continue;
      if (decoded->request_id().empty()) {
        EXPECT_EQ(frame.encoding, info_.encoding);
      }
      received.push_back(*decoded);
      encodings.push_back(frame.encoding);
      data.push_back(frame.data);
    }
    cv_.notify_all();
  }
  void Close(im::common::v1::ReasonCode reason, std::string) override { closed = reason; }

  // Waits until `count` frames arrived (or `timeout` passed); returns those received so far.
  std::vector<im::client::v1::Frame> WaitForFrames(size_t count,
                                                   absl::Duration timeout = absl::Seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                 [&] { return received.size() >= count; });
    return received;
  }

  // Read directly only once no more pushes can arrive (or through WaitForFrames).
  int pushes = 0;
  std::vector<im::client::v1::Frame> received;
  std::vector<Encoding> encodings;
  // The encoded frames as pushed, so tests can see which were shared between connections.
  std::vector<std::shared_ptr<const std::string>> data;
  std::optional<im::common::v1::ReasonCode> closed;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

// A FakeConnection shared as the SessionHub holds connections.
inline std::shared_ptr<FakeConnection> Conn(const std::string& uid, const std::string& device,
                                            int flag, Encoding encoding = Encoding::kBinary) {
  return std::make_shared<FakeConnection>(uid, device, flag, encoding);
}

}  // namespace im::gateway
