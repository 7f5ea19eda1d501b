// Trims the operation log: every `interval`, deletes entries older than the retention in chunks
// until none is left, on its own thread. Several replicas may sweep at once; deletes are
// idempotent.
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "common/periodic_thread.h"
#include "services/extension/extension_store.h"

namespace im::extension {

class OplogSweeper {
 public:
  struct Options {
    absl::Duration retention = absl::Hours(24 * 30);
    absl::Duration interval = absl::Minutes(10);
    int64_t chunk = 10000;
  };

  // Destruction stops the thread (an ongoing chunk finishes first).
  OplogSweeper(ExtensionStore* store, Options options);

  // One full pass now, on the caller's thread; how many entries it deleted.
  absl::StatusOr<int64_t> SweepOnce();

 private:
  void SweepAndLog();

  ExtensionStore* store_;
  const Options options_;
  // Last, so it stops before the rest goes.
  PeriodicThread thread_;
};

}  // namespace im::extension
