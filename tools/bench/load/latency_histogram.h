// A lock-free latency histogram for the load generator: log-linear buckets of microseconds (32
// per power of two, so a percentile is within about 3% of the exact value), relaxed atomic counts
// that any thread may add to while another reads.
//
//   LatencyHistogram h;
//   h.Record(1250);                 // microseconds
//   double p99_ms = h.Percentile(0.99) / 1000.0;
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace im::load {

class LatencyHistogram {
 public:
  // Negative values count as 0; values beyond about 2^40 us land in the top bucket.
  void Record(int64_t micros);
  int64_t count() const { return count_.load(std::memory_order_relaxed); }
  // The smallest bucket bound at or below which a fraction `p` (0..1] of the values lie, in
  // microseconds; 0 when empty.
  int64_t Percentile(double p) const;
  // The bucket counts now, to take a percentile of what is recorded from here on.
  std::vector<uint64_t> Snapshot() const;
  // Like Percentile, over the values recorded since `earlier` was taken (by Snapshot) only; the
  // bucket's bound, not capped by a maximum.
  int64_t PercentileSince(const std::vector<uint64_t>& earlier, double p) const;
  int64_t max() const { return max_.load(std::memory_order_relaxed); }
  double mean() const;
  // Adds `other`'s counts to this one.
  void Merge(const LatencyHistogram& other);

 private:
  static constexpr int kSubBits = 5;  // 32 sub-buckets per power of two
  static constexpr int kTopBit = 40;
  static constexpr size_t kBuckets = (2u << kSubBits) + (kTopBit - kSubBits) * (1u << kSubBits);

  static size_t Index(uint64_t value);
  static int64_t UpperBound(size_t index);
  // The bound of the bucket holding rank ceil(p * total) of `counts`; -1 when they are all 0.
  static int64_t BoundAtRank(const std::vector<uint64_t>& counts, double p);

  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> max_{0};
};

}  // namespace im::load
