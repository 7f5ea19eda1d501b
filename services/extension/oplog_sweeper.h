// Trims the operation log: every `interval`, deletes entries older than the retention in chunks
// until none is left, on its own thread. Several replicas may sweep at once; deletes are
// idempotent.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "services/extension/extension_store.h"

namespace im::extension {

class OplogSweeper {
 public:
  struct Options {
    absl::Duration retention = absl::Hours(24 * 30);
    absl::Duration interval = absl::Minutes(10);
    int64_t chunk = 10000;
  };

  OplogSweeper(ExtensionStore* store, Options options);
  // Stops the thread (an ongoing chunk finishes first).
  ~OplogSweeper();

  // One full pass now, on the caller's thread; how many entries it deleted.
  absl::StatusOr<int64_t> SweepOnce();

 private:
  void Loop();

  ExtensionStore* store_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace im::extension
