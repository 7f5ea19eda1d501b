// Closes a user's devices wherever they are connected: on this gateway directly, on other gateways
// through presence and GatewayService.Disconnect. Used by the multi-device policy (a new device
// replaces older ones of its flag on every gateway) and by UserService.Kick.
//
//   int here = kicker.KickLocal(uid, {.device_flag = flag}, REASON_CODE_KICKED, "replaced");
//   kicker.ReplaceElsewhere(conn->info(), policy, [] { /* now write presence */ });
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/worker_pool.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/public/gateway_stubs.h"
#include "services/gateway/public/presence_store.h"
#include "services/gateway/session_hub.h"
#include "services/gateway/token_store.h"

namespace im::gateway {

class Kicker {
 public:
  // `self` is this gateway's advertised address (its own presence entries are skipped remotely);
  // `rpc_timeout` bounds each Disconnect call.
  Kicker(SessionHub* hub, PresenceStore* presence, TokenStore* tokens, WorkerPool* workers,
         GatewayMetrics* metrics, std::string self, absl::Duration rpc_timeout);

  // Closes this gateway's connections of `uid` that `match` selects with DISCONNECT(reason,
  // message). Returns how many.
  int KickLocal(const std::string& uid, const DeviceMatch& match, im::common::v1::ReasonCode reason,
                const std::string& message);

  // For `info`'s device, which just connected here: closes with DISCONNECT(KICKED) what it replaces
  // on other gateways, found through presence. Under kKickSameFlag that is every connection of
  // its flag, its own older ones included (a half-open socket after the device moved). Under
  // kAllow only the device's own (Disconnect with device_id), so other devices of its flag on those
  // gateways stay. `looked_up` runs once presence was read (or could not be), on any thread: the
  // new entry must be written only then, since it replaces, and so hides, the device's old
  // gateway. Failures are logged.
  void ReplaceElsewhere(const ConnectionInfo& info, MultiDevicePolicy policy,
                        std::function<void()> looked_up);

  // UserService.Kick: deletes the tokens first when `revoke_token` (so the devices cannot come
  // back with them), then closes the devices here and on other gateways with KICKED. `done` gets
  // how many were closed in all, or the first failure.
  void Kick(const std::string& uid, int device_flag, const std::string& message, bool revoke_token,
            std::function<void(absl::StatusOr<int>)> done);

 private:
  // Disconnect on every other gateway that presence says holds a device `match` selects;
  // `looked_up` (may be null) runs after the presence read. On a worker thread.
  void KickRemoteNow(const std::string& uid, const DeviceMatch& match,
                     im::common::v1::ReasonCode reason, const std::string& message,
                     std::function<void(absl::StatusOr<int>)> done,
                     const std::function<void()>& looked_up = nullptr);

  // Sends Disconnect(uid, match) to each of `gateways`.
  void DisconnectOn(const std::set<std::string>& gateways, const std::string& uid,
                    const DeviceMatch& match, im::common::v1::ReasonCode reason,
                    const std::string& message, std::function<void(absl::StatusOr<int>)> done);

  SessionHub* hub_;
  PresenceStore* presence_;
  TokenStore* tokens_;
  WorkerPool* workers_;
  GatewayMetrics* metrics_;
  const std::string self_;
  const absl::Duration rpc_timeout_;

  GatewayStubs stubs_;
};

}  // namespace im::gateway
