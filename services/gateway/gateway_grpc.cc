#include "services/gateway/gateway_grpc.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/async_call.h"
#include "common/status.h"
#include "services/message/public/channel_key.h"

namespace im::gateway {
namespace {

using im::common::v1::DeviceFlag_IsValid;

// A device flag of a request where UNSPECIFIED means "every flag".
absl::Status CheckFlagOrAll(int flag) {
  if (!DeviceFlag_IsValid(flag)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown device_flag ", flag));
  }
  return absl::OkStatus();
}

// Every item names recipients and carries something to deliver: an empty one is a caller's bug
// that would otherwise pass as delivered to nobody.
absl::Status ValidateDeliver(const v1::DeliverRequest& request) {
  for (int i = 0; i < request.items_size(); ++i) {
    const v1::DeliverItem& item = request.items(i);
    if (item.body_case() == v1::DeliverItem::BODY_NOT_SET) {
      return absl::InvalidArgumentError(absl::StrCat("items[", i, "] has no body"));
    }
    for (const v1::Recipient& recipient : item.recipients()) {
      if (absl::Status s = ValidateId(recipient.uid(), "recipient uid"); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("items[", i, "]: ", s.message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* GatewayGrpcService::Deliver(grpc::CallbackServerContext* context,
                                                      const v1::DeliverRequest* request,
                                                      v1::DeliverResponse* response) {
  if (absl::Status valid = ValidateDeliver(*request); !valid.ok()) {
    return FinishNow(context, valid);
  }
  deliverer_->Deliver(*request, response);
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* GatewayGrpcService::Disconnect(grpc::CallbackServerContext* context,
                                                         const v1::DisconnectRequest* request,
                                                         v1::DisconnectResponse* response) {
  absl::Status valid = ValidateId(request->uid(), "uid");
  if (valid.ok()) valid = CheckFlagOrAll(request->device_flag());
  if (valid.ok() && !request->device_id().empty()) {
    valid = ValidateId(request->device_id(), "device_id");
  }
  // The reason goes to clients in DISCONNECT, where an unknown value would be a protocol error.
  if (valid.ok() && !im::common::v1::ReasonCode_IsValid(request->reason())) {
    valid = absl::InvalidArgumentError(absl::StrCat("unknown reason ", request->reason()));
  }
  if (!valid.ok()) return FinishNow(context, valid);
  const im::common::v1::ReasonCode reason =
      request->reason() == im::common::v1::REASON_CODE_UNSPECIFIED
          ? im::common::v1::REASON_CODE_KICKED
          : request->reason();
  const DeviceMatch match{.device_flag = request->device_flag(),
                          .keep_device_id = request->keep_device_id(),
                          .device_id = request->device_id()};
  response->set_disconnected(
      static_cast<uint32_t>(kicker_->KickLocal(request->uid(), match, reason, request->message())));
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* UserGrpcService::SetToken(grpc::CallbackServerContext* context,
                                                    const v1::SetTokenRequest* request,
                                                    v1::SetTokenResponse*) {
  absl::Status valid = ValidateId(request->uid(), "uid");
  if (valid.ok()) valid = ValidateDeviceFlag(request->device_flag());
  if (valid.ok() && (request->token().empty() || request->token().size() > kMaxTokenBytes)) {
    valid = absl::InvalidArgumentError(absl::StrCat("token must be 1..", kMaxTokenBytes, " bytes"));
  }
  if (!valid.ok()) return FinishNow(context, valid);
  return RunOnWorkers(context, *workers_, [this, request] {
    return tokens_->Set(request->uid(), request->device_flag(), request->token(),
                        absl::Seconds(request->ttl_seconds()));
  });
}

grpc::ServerUnaryReactor* UserGrpcService::Kick(grpc::CallbackServerContext* context,
                                                const v1::KickRequest* request,
                                                v1::KickResponse* response) {
  absl::Status valid = ValidateId(request->uid(), "uid");
  if (valid.ok()) valid = CheckFlagOrAll(request->device_flag());
  if (!valid.ok()) return FinishNow(context, valid);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  kicker_->Kick(request->uid(), request->device_flag(), request->reason(), request->revoke_token(),
                [reactor, response](absl::StatusOr<int> kicked) {
                  if (kicked.ok()) response->set_kicked_devices(static_cast<uint32_t>(*kicked));
                  reactor->Finish(ToGrpcStatus(kicked.status()));
                });
  return reactor;
}

grpc::ServerUnaryReactor* UserGrpcService::GetOnlineStatus(
    grpc::CallbackServerContext* context, const v1::GetOnlineStatusRequest* request,
    v1::GetOnlineStatusResponse* response) {
  if (request->uids_size() > kMaxStatusUids) {
    return FinishNow(context, absl::InvalidArgumentError(
                                  absl::StrCat("at most ", kMaxStatusUids, " uids per call")));
  }
  for (const std::string& uid : request->uids()) {
    if (absl::Status valid = ValidateId(uid, "uid"); !valid.ok()) return FinishNow(context, valid);
  }
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<std::vector<std::vector<PresenceEntry>>> found =
        presence_->Lookup({request->uids().begin(), request->uids().end()});
    if (!found.ok()) return found.status();
    for (int i = 0; i < request->uids_size(); ++i) {
      v1::UserOnlineStatus* status = response->add_statuses();
      status->set_uid(request->uids(i));
      for (const PresenceEntry& entry : (*found)[i]) {
        v1::OnlineDevice* device = status->add_devices();
        device->set_device_id(entry.device_id);
        device->set_device_flag(static_cast<im::common::v1::DeviceFlag>(entry.device_flag));
        device->set_connected_at(entry.connected_at_ms);
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace im::gateway
