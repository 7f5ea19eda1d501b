#include "services/message/id_generator.h"

#include <algorithm>
#include <thread>

#include "absl/time/clock.h"

namespace im::message {
namespace {

constexpr int64_t kMaxCounter = (int64_t{1} << IdGenerator::kCounterBits) - 1;
// When the counter of a millisecond is used up and the clock is at most this far behind the last
// id's millisecond, wait for the clock; further behind (the clock was set back, or the node's
// previous holder used later times), move to the next millisecond without waiting.
constexpr int64_t kMaxWaitMs = 5;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()) - IdGenerator::kEpochMs; }

}  // namespace

IdGenerator::IdGenerator(NodeLease* lease)
    : lease_(lease),
      last_ms_(std::max<int64_t>(0, lease->min_ms() - kEpochMs)),
      // Exhausted, so the first id takes a millisecond above the lease's floor.
      counter_(kMaxCounter) {}

absl::StatusOr<std::vector<uint64_t>> IdGenerator::Next(size_t count) {
  if (!lease_->valid()) {
    return absl::UnavailableError("message node id lease lost; not minting ids");
  }
  std::vector<uint64_t> ids;
  ids.reserve(count);
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < count; ++i) ids.push_back(NextLocked());
  lease_->ReportMs(last_ms_ + kEpochMs);
  return ids;
}

uint64_t IdGenerator::NextLocked() {
  int64_t now = NowMs();
  if (now > last_ms_) {
    last_ms_ = now;
    counter_ = 0;
  } else if (counter_ < kMaxCounter) {
    ++counter_;
  } else {
    while (now <= last_ms_ && last_ms_ - now <= kMaxWaitMs) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      now = NowMs();
    }
    last_ms_ = std::max(now, last_ms_ + 1);
    counter_ = 0;
  }
  return (static_cast<uint64_t>(last_ms_) << (kNodeBits + kCounterBits)) |
         (static_cast<uint64_t>(lease_->node_id()) << kCounterBits) |
         static_cast<uint64_t>(counter_);
}

}  // namespace im::message
