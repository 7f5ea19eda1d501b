// A fixed set of threads with a bounded queue. gRPC and WebSocket I/O threads hand blocking work
// (Postgres, Redis) to it, so they never block; a full queue is refused rather than grown, which
// turns overload into RESOURCE_EXHAUSTED instead of unbounded memory and latency.
//
//   WorkerPool pool(8, 10000);
//   if (!pool.TrySubmit([] { ... })) { /* reply "busy" */ }
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace im {

class WorkerPool {
 public:
  WorkerPool(int threads, size_t max_queue);
  // Runs what is queued, then joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false (and `task` dropped) when the queue is full or the pool is shutting down.
  bool TrySubmit(std::function<void()> task);

  // Stops accepting work, finishes what is queued and joins the threads. Idempotent.
  void Shutdown();

 private:
  void Loop();

  const size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace im
