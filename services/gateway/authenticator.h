// Decides whether a CONNECT's token admits (uid, device flag): a token registered with
// UserService.SetToken, or, when a JWT secret is configured, an HS256 JWT whose `sub` is the uid.
// Blocks on Redis: run it on the worker pool.
//
//   Authenticator auth(&tokens, jwt_secret);
//   absl::Status s = auth.Check(uid, flag, token);   // ReasonFor(s) is the CONNACK reason
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "services/gateway/token_store.h"

namespace im::gateway {

class Authenticator {
 public:
  // An empty `jwt_secret` turns JWTs off.
  Authenticator(TokenStore* tokens, std::string jwt_secret)
      : tokens_(tokens), jwt_secret_(std::move(jwt_secret)) {}

  // OK when admitted. UNAUTHENTICATED (tagged TOKEN_EXPIRED for an expired JWT) otherwise;
  // UNAVAILABLE when the token store cannot be read.
  absl::Status Check(const std::string& uid, int device_flag, std::string_view token) const;

 private:
  TokenStore* tokens_;
  const std::string jwt_secret_;
};

}  // namespace im::gateway
