// The queue in front of one lane thread (send lanes, fan-out lanes): FIFO, bounded by item count
// and by payload bytes so a burst of large messages cannot exhaust memory, and taken a batch at a
// time by the lane's thread.
//
//   LaneQueue<Item> queue({.max_items = 100000, .max_bytes = 64 << 20}, &BytesOf);
//   std::vector<Item> refused = queue.PushAll(std::move(items));   // answer these "busy"
//   for (std::vector<Item> batch; !(batch = queue.PopBatch(512)).empty();) Process(batch);
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace im::message {

template <typename T>
class LaneQueue {
 public:
  struct Limits {
    size_t max_items = 100000;
    size_t max_bytes = 64 << 20;
  };

  LaneQueue(Limits limits, std::function<size_t(const T&)> bytes_of)
      : limits_(limits), bytes_of_(std::move(bytes_of)) {}

  // Queues `items` in order up to the first that does not fit (one item always fits an empty
  // queue) and returns that one and every later one, in order, unqueued: once one is refused the
  // later ones are too, so none of them can overtake a retry of the refused one. After Stop()
  // everything is refused.
  std::vector<T> PushAll(std::vector<T> items) {
    std::vector<T> refused;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (T& item : items) {
        const size_t bytes = bytes_of_(item);
        if (!refused.empty() || stopping_ || queue_.size() >= limits_.max_items ||
            (!queue_.empty() && queued_bytes_ + bytes > limits_.max_bytes)) {
          refused.push_back(std::move(item));
          continue;
        }
        queued_bytes_ += bytes;
        queue_.push_back(std::move(item));
      }
    }
    cv_.notify_one();
    return refused;
  }

  // Blocks until something is queued, then takes up to `max` items in order. Returns empty only
  // once Stop() was called and the queue is drained.
  std::vector<T> PopBatch(size_t max) {
    std::vector<T> batch;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    while (!queue_.empty() && batch.size() < max) {
      queued_bytes_ -= bytes_of_(queue_.front());
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return batch;
  }

  // Refuses new items; PopBatch drains what is queued, then returns empty.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

 private:
  const Limits limits_;
  const std::function<size_t(const T&)> bytes_of_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> queue_;
  size_t queued_bytes_ = 0;
  bool stopping_ = false;
};

}  // namespace im::message
