// The authenticated connections of this gateway by uid, and the multi-device policy applied when
// one joins. Thread-safe: I/O threads add and remove, gRPC threads look up. Lookups copy the
// shared pointers out of the lock, so pushing never happens under it.
//
//   std::vector<std::shared_ptr<Connection>> replaced = hub.Add(conn,
//   MultiDevicePolicy::kKickSameFlag); for (auto& old : replaced) old->Close(REASON_CODE_KICKED,
//   "...");
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "services/gateway/connection.h"

namespace im::gateway {

enum class MultiDevicePolicy {
  // A new connection of (uid, flag) replaces the connections of other devices with that flag.
  kKickSameFlag,
  // Devices of one flag coexist; only the same device reconnecting replaces its old connection.
  kAllow,
};

// Which of a user's connections a kick or a GatewayService.Disconnect closes. A struct, so the two
// device ids cannot be swapped at a call site; every member has an initializer so that designated
// initializers may name only some (-Wmissing-field-initializers).
struct DeviceMatch {
  int device_flag = 0;              // 0 = any flag.
  std::string keep_device_id = {};  // This device stays; empty = none does.
  std::string device_id = {};       // Only this device; empty = every device.

  bool Matches(int flag, const std::string& device) const;
};

class SessionHub {
 public:
  // Adds `conn` and removes the local connections it replaces under `policy`: always the same
  // device's older connections, and under kKickSameFlag every other device with the same flag.
  // The caller closes the returned ones.
  std::vector<std::shared_ptr<Connection>> Add(std::shared_ptr<Connection> conn,
                                               MultiDevicePolicy policy);

  // Removes `conn` if it is still here. True when it was, and no other connection of its
  // (uid, device_id) remains, i.e. the device is now offline on this gateway.
  bool Remove(const Connection& conn);

  // Whether `conn` is here (added and neither removed nor replaced).
  bool Contains(const Connection& conn) const;

  // The connections of `uid`.
  std::vector<std::shared_ptr<Connection>> Find(const std::string& uid) const;

  // The connections of `uid` that `match` selects.
  std::vector<std::shared_ptr<Connection>> Matching(const std::string& uid,
                                                    const DeviceMatch& match) const;

  // Every connection.
  std::vector<std::shared_ptr<Connection>> All() const;

  size_t size() const;

 private:
  static constexpr size_t kShards = 32;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::vector<std::shared_ptr<Connection>>> by_uid;
  };

  Shard& ShardOf(const std::string& uid);
  const Shard& ShardOf(const std::string& uid) const;

  std::array<Shard, kShards> shards_;
};

}  // namespace im::gateway
