// HS256 JSON Web Tokens (RFC 7519) as CONNECT tokens, so a business server can issue tokens without
// a round trip to UserService.SetToken. Only HS256 is accepted (never "none" or another algorithm);
// claims: `sub` = uid (required), `exp` (Unix seconds, optional), `nbf` (optional) and
// `device_flag` (im.common.v1.DeviceFlag number, optional: when present the token is valid for that
// flag only).
//
//   absl::StatusOr<JwtClaims> claims = VerifyHs256Jwt(token, secret, absl::Now());
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace im::gateway {

struct JwtClaims {
  std::string sub;
  std::optional<int64_t> exp;
  // 0 = any flag.
  int device_flag = 0;
};

// True for "<part>.<part>.<part>", the shape of a compact JWS; stored tokens may have any shape, so
// this only decides which check to try first.
bool LooksLikeJwt(std::string_view token);

// The claims of `token` when its signature is a valid HMAC-SHA256 under `secret`, its header names
// HS256 and it is valid at `now`. UNAUTHENTICATED otherwise, tagged TOKEN_EXPIRED when only `exp`
// has passed.
absl::StatusOr<JwtClaims> VerifyHs256Jwt(std::string_view token, std::string_view secret,
                                         absl::Time now);

// A compact HS256 JWT carrying `claims_json` (a JSON object), signed with `secret`.
std::string SignHs256Jwt(std::string_view claims_json, std::string_view secret);

}  // namespace im::gateway
