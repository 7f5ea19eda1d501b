// Presence: which gateway holds each connected device, so the message service can route a delivery
// to the few gateways that matter. The gateway writes it; the message service reads it; the layout
// below is the contract between the two and lives only here.
//
// One Redis hash per uid, `gw:pres:{<uid>}` (the gateway's `gw:` prefix): field = device_id, value
// = "<gateway>|<flag>|<connected ms>|<expires ms>". Redis 7.0 has no per-field TTL, so each value
// carries its own expiry, readers skip expired ones, and the key's own TTL (refreshed with every
// write) removes a user whose gateway died. A gateway re-registers its live devices well within the
// TTL.
//
// Every call blocks on Redis: run it on a worker pool, never on an I/O thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"

namespace im::gateway {

struct PresenceEntry {
  std::string uid;
  std::string device_id;
  // im.common.v1.DeviceFlag.
  int device_flag = 0;
  // The gRPC address (host:port) of the gateway holding the connection.
  std::string gateway;
  int64_t connected_at_ms = 0;
  int64_t expires_at_ms = 0;
};

class PresenceStore {
 public:
  // Entries written now expire `ttl` later unless written again.
  PresenceStore(RedisPool& redis, absl::Duration ttl);

  absl::Duration ttl() const { return ttl_; }

  // Writes (or refreshes) the entries in one pipeline; each expires `ttl` from now. A device
  // registered by another gateway is taken over unless that entry is live and has a later
  // connected_at_ms: the newest connection wins, whatever order the writes arrive in.
  absl::Status Register(const std::vector<PresenceEntry>& entries);

  // Removes each (uid, device_id) only where it still names `gateway`, so a device that reconnected
  // elsewhere keeps its newer entry. One pipeline.
  absl::Status Unregister(const std::string& gateway,
                          const std::vector<std::pair<std::string, std::string>>& uid_devices);

  // The live (unexpired) devices of each uid, one list per uid in request order. One pipeline.
  absl::StatusOr<std::vector<std::vector<PresenceEntry>>> Lookup(
      const std::vector<std::string>& uids);

 private:
  RedisPool& redis_;
  const absl::Duration ttl_;
};

}  // namespace im::gateway
