#include "services/extension/extension_grpc.h"

#include <utility>

#include "absl/time/clock.h"
#include "common/async_call.h"

namespace im::extension {

grpc::ServerUnaryReactor* ExtensionGrpcService::Set(grpc::CallbackServerContext* context,
                                                    const v1::SetRequest* request,
                                                    v1::SetResponse* response) {
  absl::StatusOr<PendingSet> pending =
      extensions_->Prepare(*request, absl::ToUnixMillis(absl::Now()));
  if (!pending.ok()) return FinishNow(context, pending.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool queued =
      pipeline_->Submit(*std::move(pending), [reactor, response](SetOutcome outcome) {
        if (outcome.status.ok()) *response = std::move(outcome.response);
        reactor->Finish(ToGrpcStatus(outcome.status));
      });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server busy, retry later"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* ExtensionGrpcService::Get(grpc::CallbackServerContext* context,
                                                    const v1::GetRequest* request,
                                                    v1::GetResponse* response) {
  return RunOnWorkers(context, *workers_, [=, this]() -> absl::Status {
    absl::StatusOr<v1::GetResponse> result = extensions_->Get(*request);
    if (!result.ok()) return result.status();
    *response = *std::move(result);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ExtensionGrpcService::Sync(grpc::CallbackServerContext* context,
                                                     const v1::SyncRequest* request,
                                                     v1::SyncResponse* response) {
  return RunOnWorkers(context, *workers_, [=, this]() -> absl::Status {
    absl::StatusOr<v1::SyncResponse> result = extensions_->Sync(*request);
    if (!result.ok()) return result.status();
    *response = *std::move(result);
    return absl::OkStatus();
  });
}

}  // namespace im::extension
