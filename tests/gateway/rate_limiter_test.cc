#include "services/gateway/rate_limiter.h"

#include <gtest/gtest.h>

namespace im::gateway {
namespace {

using Verdict = RateLimiter::Verdict;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(RateLimiterTest, AllowsABurstThenRejects) {
  RateLimiter limiter(10, 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Check(kStart), Verdict::kAllow) << i;
  EXPECT_EQ(limiter.Check(kStart), Verdict::kReject);
}

TEST(RateLimiterTest, RefillsAtTheRate) {
  RateLimiter limiter(10, 5);
  for (int i = 0; i < 5; ++i) limiter.Check(kStart);
  ASSERT_EQ(limiter.Check(kStart), Verdict::kReject);
  // 10 per second: one token every 100 ms.
  EXPECT_EQ(limiter.Check(kStart + absl::Milliseconds(100)), Verdict::kAllow);
  EXPECT_EQ(limiter.Check(kStart + absl::Milliseconds(100)), Verdict::kReject);
  // Never more than the burst, however long the pause.
  const absl::Time later = kStart + absl::Hours(1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(limiter.Check(later), Verdict::kAllow) << i;
  EXPECT_EQ(limiter.Check(later), Verdict::kReject);
}

TEST(RateLimiterTest, SustainedFloodingDisconnectsAtTwiceTheBurstOfStrikes) {
  RateLimiter limiter(10, 5);
  for (int i = 0; i < 5; ++i) limiter.Check(kStart);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(limiter.Check(kStart), Verdict::kReject) << i;
  EXPECT_EQ(limiter.Check(kStart), Verdict::kDisconnect);
}

TEST(RateLimiterTest, AcceptedFramesWorkOffStrikes) {
  RateLimiter limiter(10, 5);
  absl::Time now = kStart;
  for (int i = 0; i < 5; ++i) limiter.Check(now);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(limiter.Check(now), Verdict::kReject);
  // A client that slows down to the rate recovers instead of being closed.
  for (int i = 0; i < 20; ++i) {
    now += absl::Milliseconds(100);
    ASSERT_EQ(limiter.Check(now), Verdict::kAllow) << i;
  }
  for (int i = 0; i < 9; ++i) EXPECT_EQ(limiter.Check(now), Verdict::kReject) << i;
}

TEST(RateLimiterTest, TimeGoingBackAddsNothing) {
  RateLimiter limiter(10, 2);
  ASSERT_EQ(limiter.Check(kStart), Verdict::kAllow);
  ASSERT_EQ(limiter.Check(kStart), Verdict::kAllow);
  EXPECT_EQ(limiter.Check(kStart - absl::Seconds(10)), Verdict::kReject);
  EXPECT_EQ(limiter.Check(kStart), Verdict::kReject);
}

}  // namespace
}  // namespace im::gateway
