// The tokens business servers register with UserService.SetToken, one per (uid, device flag), kept
// in Redis under the gateway's key prefix as `gw:tok:{<uid>}:<flag>` = hex SHA-256 of the token, so
// a Redis dump does not reveal usable tokens. Every call blocks on Redis: run it on the worker
// pool.
//
//   TokenStore tokens(redis);
//   tokens.Set("alice", DEVICE_FLAG_APP, "secret", absl::Hours(24));
//   absl::Status ok = tokens.Check("alice", DEVICE_FLAG_APP, "secret");
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"

namespace im::gateway {

class TokenStore {
 public:
  explicit TokenStore(RedisPool& redis) : redis_(redis) {}

  // Replaces the token of (uid, flag); it expires after `ttl` (zero = never). UNAVAILABLE when
  // Redis fails.
  absl::Status Set(const std::string& uid, int device_flag, std::string_view token,
                   absl::Duration ttl);

  // OK when `token` is the one registered for (uid, flag); UNAUTHENTICATED when none is registered
  // (or it expired) or it differs; UNAVAILABLE when Redis fails.
  absl::Status Check(const std::string& uid, int device_flag, std::string_view token);

  // Deletes the token of (uid, flag), or of every flag for flag 0.
  absl::Status Revoke(const std::string& uid, int device_flag);

 private:
  RedisPool& redis_;
};

// Lowercase hex SHA-256.
std::string Sha256Hex(std::string_view data);

}  // namespace im::gateway
