#include "services/gateway/authenticator.h"

#include "absl/time/clock.h"
#include "services/gateway/jwt.h"

namespace im::gateway {

absl::Status Authenticator::Check(const std::string& uid, int device_flag,
                                  std::string_view token) const {
  if (token.empty()) return absl::UnauthenticatedError("token missing");
  absl::Status jwt_status = absl::OkStatus();
  if (!jwt_secret_.empty() && LooksLikeJwt(token)) {
    absl::StatusOr<JwtClaims> claims = VerifyHs256Jwt(token, jwt_secret_, absl::Now());
    if (claims.ok()) {
      if (claims->sub != uid) return absl::UnauthenticatedError("JWT sub is another uid");
      if (claims->device_flag != 0 && claims->device_flag != device_flag) {
        return absl::UnauthenticatedError("JWT is for another device flag");
      }
      return absl::OkStatus();
    }
    jwt_status = claims.status();
  }
  // A registered token may happen to look like a JWT, so a JWT failure still tries the store; the
  // JWT's own error is the more useful answer when both fail.
  absl::Status stored = tokens_->Check(uid, device_flag, token);
  if (stored.ok() || jwt_status.ok() || stored.code() != absl::StatusCode::kUnauthenticated) {
    return stored;
  }
  return jwt_status;
}

}  // namespace im::gateway
