// Runs housekeeping (retention sweeps and the like) every `interval` on a thread of its own, so it
// never takes an I/O or worker thread, until the object is destroyed.
//
//   PeriodicThread sweeps(absl::Minutes(1), [&] { SweepOnce(); });
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace im {

class PeriodicThread {
 public:
  // The first run is one interval from now.
  PeriodicThread(absl::Duration interval, std::function<void()> task);
  // Waits for a run in progress to finish; a long task should check stopping().
  ~PeriodicThread();
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // True once destruction began.
  bool stopping();

 private:
  void Loop();

  const absl::Duration interval_;
  const std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace im
