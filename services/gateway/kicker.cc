#include "services/gateway/kicker.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reason_codes.h"
#include "common/status.h"

namespace im::gateway {
namespace {

using im::gateway::v1::DisconnectRequest;
using im::gateway::v1::DisconnectResponse;

// Collects the answers of the Disconnect calls of one KickRemote.
struct RemoteKick {
  std::function<void(absl::StatusOr<int>)> done;
  std::atomic<int> pending{0};
  std::atomic<int> total{0};
  std::mutex mu;
  absl::Status first_error;

  void CallEnded(const grpc::Status& status, int disconnected) {
    if (status.ok()) {
      total += disconnected;
    } else {
      std::lock_guard<std::mutex> lock(mu);
      if (first_error.ok()) first_error = FromGrpcStatus(status);
    }
    if (--pending == 0) {
      if (first_error.ok()) {
        done(total.load());
      } else {
        done(first_error);
      }
    }
  }
};

// One Disconnect call's state, alive until its callback.
struct DisconnectCall {
  std::shared_ptr<im::gateway::v1::GatewayService::Stub> stub;
  grpc::ClientContext context;
  DisconnectRequest request;
  DisconnectResponse response;
};

}  // namespace

Kicker::Kicker(SessionHub* hub, PresenceStore* presence, TokenStore* tokens, WorkerPool* workers,
               GatewayMetrics* metrics, std::string self, absl::Duration rpc_timeout)
    : hub_(hub),
      presence_(presence),
      tokens_(tokens),
      workers_(workers),
      metrics_(metrics),
      self_(std::move(self)),
      rpc_timeout_(rpc_timeout) {}

int Kicker::KickLocal(const std::string& uid, const DeviceMatch& match,
                      im::common::v1::ReasonCode reason, const std::string& message) {
  std::vector<std::shared_ptr<Connection>> found = hub_->Matching(uid, match);
  for (const std::shared_ptr<Connection>& conn : found) conn->Close(reason, message);
  if (reason == im::common::v1::REASON_CODE_KICKED) metrics_->kicks->Increment(found.size());
  return static_cast<int>(found.size());
}

void Kicker::ReplaceElsewhere(const ConnectionInfo& info, MultiDevicePolicy policy,
                              std::function<void()> looked_up) {
  auto logged = [uid = info.uid](absl::StatusOr<int> kicked) {
    if (!kicked.ok()) {
      log::Warning("remote_kick_failed",
                   {{"uid", uid}, {"error", std::string(kicked.status().message())}});
    }
  };
  const bool queued = workers_->TrySubmit([=, this] {
    DeviceMatch replaced{.device_flag = info.device_flag};
    if (policy == MultiDevicePolicy::kAllow) replaced.device_id = info.device_id;
    KickRemoteNow(info.uid, replaced, im::common::v1::REASON_CODE_KICKED,
                  absl::StrCat("replaced by device ", info.device_id), logged, looked_up);
  });
  if (!queued) {
    logged(absl::UnavailableError("gateway busy, could not look up presence"));
    looked_up();
  }
}

void Kicker::Kick(const std::string& uid, int device_flag, const std::string& message,
                  bool revoke_token, std::function<void(absl::StatusOr<int>)> done) {
  const bool queued = workers_->TrySubmit([=, this] {
    if (revoke_token) {
      if (absl::Status revoked = tokens_->Revoke(uid, device_flag); !revoked.ok()) {
        done(revoked);
        return;
      }
    }
    const DeviceMatch all{.device_flag = device_flag};
    const int here = KickLocal(uid, all, im::common::v1::REASON_CODE_KICKED, message);
    KickRemoteNow(uid, all, im::common::v1::REASON_CODE_KICKED, message,
                  [here, done](absl::StatusOr<int> elsewhere) {
                    if (!elsewhere.ok()) {
                      done(elsewhere.status());
                    } else {
                      done(here + *elsewhere);
                    }
                  });
  });
  if (!queued) done(absl::UnavailableError("gateway busy; retry later"));
}

void Kicker::KickRemoteNow(const std::string& uid, const DeviceMatch& match,
                           im::common::v1::ReasonCode reason, const std::string& message,
                           std::function<void(absl::StatusOr<int>)> done,
                           const std::function<void()>& looked_up) {
  absl::StatusOr<std::vector<std::vector<PresenceEntry>>> found = presence_->Lookup({uid});
  if (looked_up) looked_up();
  if (!found.ok()) {
    done(found.status());
    return;
  }
  std::set<std::string> gateways;
  for (const PresenceEntry& entry : found->front()) {
    if (entry.gateway != self_ && match.Matches(entry.device_flag, entry.device_id)) {
      gateways.insert(entry.gateway);
    }
  }
  DisconnectOn(gateways, uid, match, reason, message, std::move(done));
}

void Kicker::DisconnectOn(const std::set<std::string>& gateways, const std::string& uid,
                          const DeviceMatch& match, im::common::v1::ReasonCode reason,
                          const std::string& message,
                          std::function<void(absl::StatusOr<int>)> done) {
  if (gateways.empty()) {
    done(0);
    return;
  }
  auto kick = std::make_shared<RemoteKick>();
  kick->done = std::move(done);
  kick->pending = static_cast<int>(gateways.size());
  for (const std::string& address : gateways) {
    auto call = std::make_shared<DisconnectCall>();
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + rpc_timeout_));
    call->request.set_uid(uid);
    call->request.set_device_flag(static_cast<im::common::v1::DeviceFlag>(match.device_flag));
    call->request.set_keep_device_id(match.keep_device_id);
    call->request.set_device_id(match.device_id);
    call->request.set_reason(reason);
    call->request.set_message(message);
    call->stub = stubs_.For(address);
    DisconnectCall* raw = call.get();
    // The call is released before the kick can end, so no channel is released inside a callback.
    raw->stub->async()->Disconnect(&raw->context, &raw->request, &raw->response,
                                   [kick, call = std::move(call)](grpc::Status status) mutable {
                                     const int disconnected =
                                         static_cast<int>(call->response.disconnected());
                                     call.reset();
                                     kick->CallEnded(status, disconnected);
                                   });
  }
}

}  // namespace im::gateway
