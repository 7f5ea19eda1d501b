// Closes a user's devices wherever they are connected: on this gateway directly, on other gateways
// through presence and GatewayService.Disconnect. Used by the multi-device policy (a new device
// replaces older ones of its flag on every gateway) and by UserService.Kick.
//
//   int here = kicker.KickLocal(uid, flag, keep_device, REASON_CODE_KICKED, "replaced");
//   kicker.KickRemote(uid, flag, keep_device, REASON_CODE_KICKED, "replaced", [](auto n) {...});
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/presence.h"
#include "common/worker_pool.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/session_hub.h"
#include "services/gateway/token_store.h"

namespace im::gateway {

class Kicker {
 public:
  // `self` is this gateway's advertised address (its own presence entries are skipped remotely);
  // `rpc_timeout` bounds each Disconnect call.
  Kicker(SessionHub* hub, PresenceStore* presence, TokenStore* tokens, WorkerPool* workers,
         GatewayMetrics* metrics, std::string self, absl::Duration rpc_timeout);

  // Closes this gateway's connections of `uid` with `device_flag` (0 = any) except those of
  // `keep_device_id` (empty = none) with DISCONNECT(reason, message). Returns how many.
  int KickLocal(const std::string& uid, int device_flag, const std::string& keep_device_id,
                im::common::v1::ReasonCode reason, const std::string& message);

  // The same on every other gateway that presence says holds such a device. `done` gets the total
  // they closed, or the first failure (presence unreadable, a gateway unreachable) once every call
  // has ended; it runs on a worker or gRPC thread and must not block.
  void KickRemote(const std::string& uid, int device_flag, const std::string& keep_device_id,
                  im::common::v1::ReasonCode reason, const std::string& message,
                  std::function<void(absl::StatusOr<int>)> done);

  // UserService.Kick: deletes the tokens first when `revoke_token` (so the devices cannot come
  // back with them), then closes the devices here and on other gateways with KICKED. `done` gets
  // how many were closed in all, or the first failure.
  void Kick(const std::string& uid, int device_flag, const std::string& message, bool revoke_token,
            std::function<void(absl::StatusOr<int>)> done);

 private:
  // KickRemote's work, on a worker thread.
  void KickRemoteNow(const std::string& uid, int device_flag, const std::string& keep_device_id,
                     im::common::v1::ReasonCode reason, const std::string& message,
                     std::function<void(absl::StatusOr<int>)> done);

  std::shared_ptr<im::gateway::v1::GatewayService::Stub> StubFor(const std::string& address);

  SessionHub* hub_;
  PresenceStore* presence_;
  TokenStore* tokens_;
  WorkerPool* workers_;
  GatewayMetrics* metrics_;
  const std::string self_;
  const absl::Duration rpc_timeout_;

  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<im::gateway::v1::GatewayService::Stub>> stubs_;
};

}  // namespace im::gateway
