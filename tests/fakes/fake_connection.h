// A gateway Connection that records what it is given instead of writing to a socket, for tests of
// the classes that route to connections (SessionHub, Deliverer, Kicker, PresenceKeeper).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

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

  void Push(std::vector<OutFrame> frames) override {
    ++pushes;
    for (OutFrame& frame : frames) {
      absl::StatusOr<im::client::v1::Frame> decoded =
          DecodeFrame(*frame.data, frame.encoding, 1 << 20);
      EXPECT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(frame.encoding, info_.encoding);
      if (decoded.ok()) received.push_back(*decoded);
    }
  }
  void Close(im::common::v1::ReasonCode reason, std::string) override { closed = reason; }

  int pushes = 0;
  std::vector<im::client::v1::Frame> received;
  std::optional<im::common::v1::ReasonCode> closed;
};

}  // namespace im::gateway
