// What the rest of the gateway knows of one authenticated client connection: who it is and two
// thread-safe, non-blocking operations, push frames and close with a reason. The WebSocket session
// implements it; tests use a fake.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "im/client/v1/client.pb.h"
#include "im/client/v1/frame_codec.h"
#include "im/common/v1/common.pb.h"

namespace im::gateway {

// An encoded frame ready for the wire; shared, since one push often goes to many connections.
struct OutFrame {
  std::shared_ptr<const std::string> data;
  Encoding encoding = Encoding::kBinary;
};

// Fixed once the connection is authenticated.
struct ConnectionInfo {
  std::string uid;
  std::string device_id;
  int device_flag = 0;
  // The encoding of its CONNECT, used for pushes.
  Encoding encoding = Encoding::kBinary;
  int64_t connected_at_ms = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;

  const ConnectionInfo& info() const { return info_; }

  // Queues `frames` for writing in order, after everything pushed earlier from the same thread.
  // Never blocks: a connection whose write queue overflows is closed with SLOW_CONSUMER instead.
  virtual void Push(std::vector<OutFrame> frames) = 0;

  // Sends DISCONNECT(reason, message) after what is queued and closes. Idempotent.
  virtual void Close(im::common::v1::ReasonCode reason, std::string message) = 0;

  // Whether its first presence write is done. Refreshes rewrite only such connections: before
  // that, the multi-device kicker may still have to read the entry this one replaces.
  bool in_presence() const { return in_presence_.load(std::memory_order_acquire); }
  void MarkInPresence() { in_presence_.store(true, std::memory_order_release); }

  // Whether new messages reach it as SEQ_UPDATE instead of RECV (SeqSubscribe); FULL at first.
  // Atomic, since the Deliverer reads it on gRPC threads while the connection's I/O thread sets it.
  bool seq_only() const { return seq_only_.load(std::memory_order_acquire); }
  void SetSeqOnly(bool seq_only) { seq_only_.store(seq_only, std::memory_order_release); }

 protected:
  // Set once, before the connection is published to other threads (SessionHub::Add).
  ConnectionInfo info_;

 private:
  std::atomic<bool> in_presence_{false};
  std::atomic<bool> seq_only_{false};
};

// Encodes `frame` once for pushing.
inline OutFrame MakeOutFrame(const im::client::v1::Frame& frame, Encoding encoding) {
  return OutFrame{std::make_shared<const std::string>(EncodeFrame(frame, encoding)), encoding};
}

}  // namespace im::gateway
