#include "tools/bench/load/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace im::load {

// Values below 2^(kSubBits+1) have a bucket each; above, each power of two [2^h, 2^(h+1)) is split
// into 2^kSubBits equal buckets.
size_t LatencyHistogram::Index(uint64_t value) {
  constexpr uint64_t kLinear = 2u << kSubBits;
  if (value < kLinear) return value;
  const int high = std::min(63 - __builtin_clzll(value), kTopBit);
  if (high == kTopBit) return kBuckets - 1;
  const int shift = high - kSubBits;
  const uint64_t sub = (value >> shift) - (1u << kSubBits);
  return kLinear + static_cast<size_t>(high - kSubBits - 1) * (1u << kSubBits) + sub;
}

int64_t LatencyHistogram::UpperBound(size_t index) {
  constexpr size_t kLinear = 2u << kSubBits;
  if (index < kLinear) return static_cast<int64_t>(index);
  const size_t rel = index - kLinear;
  const int high = static_cast<int>(rel >> kSubBits) + kSubBits + 1;
  const uint64_t sub = rel & ((1u << kSubBits) - 1);
  const int shift = high - kSubBits;
  return static_cast<int64_t>((((1u << kSubBits) + sub + 1) << shift) - 1);
}

void LatencyHistogram::Record(int64_t micros) {
  const uint64_t value = micros < 0 ? 0 : static_cast<uint64_t>(micros);
  buckets_[Index(value)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(static_cast<int64_t>(value), std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  while (
      static_cast<int64_t>(value) > seen &&
      !max_.compare_exchange_weak(seen, static_cast<int64_t>(value), std::memory_order_relaxed)) {
  }
}

std::vector<uint64_t> LatencyHistogram::Snapshot() const {
  std::vector<uint64_t> counts(kBuckets);
  for (size_t i = 0; i < kBuckets; ++i) counts[i] = buckets_[i].load(std::memory_order_relaxed);
  return counts;
}

int64_t LatencyHistogram::BoundAtRank(const std::vector<uint64_t>& counts, double p) {
  uint64_t total = 0;
  for (uint64_t count : counts) total += count;
  if (total == 0) return -1;
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(p * static_cast<double>(total))));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) return UpperBound(i);
  }
  return UpperBound(counts.size() - 1);
}

int64_t LatencyHistogram::Percentile(double p) const {
  const int64_t bound = BoundAtRank(Snapshot(), p);
  return bound < 0 ? 0 : std::min(bound, max());
}

int64_t LatencyHistogram::PercentileSince(const std::vector<uint64_t>& earlier, double p) const {
  std::vector<uint64_t> counts = Snapshot();
  for (size_t i = 0; i < counts.size() && i < earlier.size(); ++i) {
    counts[i] = counts[i] >= earlier[i] ? counts[i] - earlier[i] : 0;
  }
  return std::max<int64_t>(0, BoundAtRank(counts, p));
}

double LatencyHistogram::mean() const {
  const int64_t n = count();
  return n == 0 ? 0 : static_cast<double>(sum_.load(std::memory_order_relaxed)) / n;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) {
    buckets_[i].fetch_add(other.buckets_[i].load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
  }
  count_.fetch_add(other.count(), std::memory_order_relaxed);
  sum_.fetch_add(other.sum_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  while (other.max() > seen &&
         !max_.compare_exchange_weak(seen, other.max(), std::memory_order_relaxed)) {
  }
}

}  // namespace im::load
