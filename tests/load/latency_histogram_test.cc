// The load generator's latency histogram: percentiles within its bucket precision (~3%).
#include "tools/bench/load/latency_histogram.h"

#include <gtest/gtest.h>

namespace im::load {
namespace {

TEST(LoadHistogramTest, PercentilesOfAUniformSpread) {
  LatencyHistogram h;
  for (int64_t us = 1; us <= 100000; ++us) h.Record(us);
  EXPECT_EQ(h.count(), 100000);
  EXPECT_NEAR(h.Percentile(0.5), 50000, 50000 * 0.035);
  EXPECT_NEAR(h.Percentile(0.99), 99000, 99000 * 0.035);
  EXPECT_NEAR(h.Percentile(0.999), 99900, 99900 * 0.035);
  EXPECT_EQ(h.Percentile(1.0), 100000);
  EXPECT_EQ(h.max(), 100000);
  EXPECT_NEAR(h.mean(), 50000.5, 1);
}

TEST(LoadHistogramTest, SmallValuesAreExactAndATailShows) {
  LatencyHistogram h;
  for (int i = 0; i < 990; ++i) h.Record(10);
  for (int i = 0; i < 10; ++i) h.Record(5000000);
  EXPECT_EQ(h.Percentile(0.5), 10);
  EXPECT_EQ(h.Percentile(0.99), 10);
  EXPECT_NEAR(h.Percentile(0.999), 5000000, 5000000 * 0.035);
  LatencyHistogram other;
  other.Record(-5);  // counts as 0
  h.Merge(other);
  EXPECT_EQ(h.count(), 1001);
  EXPECT_EQ(LatencyHistogram().Percentile(0.99), 0);
}

TEST(LoadHistogramTest, PercentileSinceSeesOnlyTheNewValues) {
  LatencyHistogram h;
  for (int i = 0; i < 1000; ++i) h.Record(50000);
  const std::vector<uint64_t> earlier = h.Snapshot();
  EXPECT_EQ(h.PercentileSince(earlier, 0.99), 0);
  for (int i = 0; i < 100; ++i) h.Record(10);
  EXPECT_EQ(h.PercentileSince(earlier, 0.99), 10);
  EXPECT_NEAR(h.Percentile(0.99), 50000, 50000 * 0.035);
}

}  // namespace
}  // namespace im::load
