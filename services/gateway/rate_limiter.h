// Per-connection rate limit: a token bucket (`rate` frames per second, bursts of up to `burst`)
// plus the flood rule of the client protocol: a connection whose frames keep being rejected (twice
// the burst in a row) is to be closed. Not thread-safe; each connection owns one and uses it on its
// io_context's thread.
//
//   RateLimiter limiter(100, 200);
//   switch (limiter.Check(absl::Now())) { ... }
#pragma once

#include <cstdint>

#include "absl/time/time.h"

namespace im::gateway {

class RateLimiter {
 public:
  enum class Verdict {
    kAllow,
    // Over the limit: reject this frame with RATE_LIMITED.
    kReject,
    // Over the limit for too long: close the connection with RATE_LIMITED.
    kDisconnect,
  };

  // `rate` and `burst` must be positive; the bucket starts full.
  RateLimiter(double rate, double burst);

  // Takes one token for a frame arriving at `now` (times must not go back much; earlier times add
  // nothing).
  Verdict Check(absl::Time now);

 private:
  const double rate_;
  const double burst_;
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
  int64_t strikes_ = 0;
};

}  // namespace im::gateway
