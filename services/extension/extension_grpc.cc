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
  if (!queued) FinishBusy(reactor);
  return reactor;
}

grpc::ServerUnaryReactor* ExtensionGrpcService::Get(grpc::CallbackServerContext* context,
                                                    const v1::GetRequest* request,
                                                    v1::GetResponse* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return extensions_->Get(*request); });
}

grpc::ServerUnaryReactor* ExtensionGrpcService::Sync(grpc::CallbackServerContext* context,
                                                     const v1::SyncRequest* request,
                                                     v1::SyncResponse* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return extensions_->Sync(*request); });
}

}  // namespace im::extension
