#include "services/message/cmd_grpc.h"

#include "common/async_call.h"

namespace im::message {

grpc::ServerUnaryReactor* CmdGrpcService::Sync(grpc::CallbackServerContext* context,
                                               const v1::CmdSyncRequest* request,
                                               v1::CmdSyncResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<v1::CmdSyncResponse> result = inbox_->Sync(*request);
    if (!result.ok()) return result.status();
    *response = *std::move(result);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CmdGrpcService::Ack(grpc::CallbackServerContext* context,
                                              const v1::CmdAckRequest* request,
                                              v1::CmdAckResponse*) {
  return RunOnWorkers(context, *workers_, [this, request] { return inbox_->Ack(*request); });
}

}  // namespace im::message
