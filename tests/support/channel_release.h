// Ends a test's use of a gRPC channel on the test thread.
#pragma once

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <thread>

namespace im::testing {

// Waits (up to 5 s) until `channel` is the last reference, then drops it. A callback call's
// ClientContext also references its channel; if that context held the last reference, the
// channel would be destroyed inside its own completion callback, which gRPC 1.51 aborts on
// ("ref_counted.h: prior > 0"). Call after every stub on the channel is gone.
inline bool ReleaseChannel(std::shared_ptr<grpc::Channel>& channel) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (channel.use_count() > 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const bool released = channel.use_count() == 1;
  channel.reset();
  return released;
}

}  // namespace im::testing
