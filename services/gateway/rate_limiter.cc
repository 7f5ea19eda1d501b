#include "services/gateway/rate_limiter.h"

#include <algorithm>

namespace im::gateway {

RateLimiter::RateLimiter(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

RateLimiter::Verdict RateLimiter::Check(absl::Time now) {
  if (last_ != absl::InfinitePast() && now > last_) {
    tokens_ = std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_);
  }
  if (now > last_) last_ = now;
  if (tokens_ >= 1) {
    tokens_ -= 1;
    if (strikes_ > 0) --strikes_;
    return Verdict::kAllow;
  }
  ++strikes_;
  return strikes_ >= 2 * burst_ ? Verdict::kDisconnect : Verdict::kReject;
}

}  // namespace im::gateway
