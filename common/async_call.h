// Runs a unary callback-API RPC's blocking work on the worker pool, so gRPC's threads never wait on
// Postgres or Redis. The handler stays a thin translation:
//
//   grpc::ServerUnaryReactor* Foo(grpc::CallbackServerContext* ctx, const Req* req, Resp* resp) {
//     return RunOnWorkers(ctx, workers_, [=] { return logic_->Foo(...); /* fills resp */ });
//   }
//   grpc::ServerUnaryReactor* Bar(grpc::CallbackServerContext* ctx, const Req* req, Resp* resp) {
//     return RunOnWorkers(ctx, workers_, resp, [=] { return logic_->Bar(*req); });  // StatusOr
//   }
#pragma once

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/status/status.h"
#include "common/status.h"
#include "common/worker_pool.h"

namespace im {

// Finishes a unary RPC at once, for answers that need no store (validation errors, in-memory work).
inline grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                           const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Finishes a call that a full queue refused: RESOURCE_EXHAUSTED, so the client retries later.
inline void FinishBusy(grpc::ServerUnaryReactor* reactor) {
  reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "server busy, retry later"));
}

// `work` returns absl::Status; its result finishes the RPC. A full worker queue finishes the RPC
// at once with RESOURCE_EXHAUSTED; a call cancelled while it waited finishes with CANCELLED.
template <typename Work>
grpc::ServerUnaryReactor* RunOnWorkers(grpc::CallbackServerContext* context, WorkerPool& workers,
                                       Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // A call its client gave up on (or that the drain cancelled) while queued is not worked on.
  const bool queued = workers.TrySubmit([context, reactor, work = std::move(work)]() mutable {
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled before it ran"));
      return;
    }
    reactor->Finish(ToGrpcStatus(work()));
  });
  if (!queued) FinishBusy(reactor);
  return reactor;
}

// `work` returns absl::StatusOr<Response>: its value becomes `*response`, its status finishes the
// RPC; queueing and cancellation as above.
template <typename Response, typename Work>
grpc::ServerUnaryReactor* RunOnWorkers(grpc::CallbackServerContext* context, WorkerPool& workers,
                                       Response* response, Work work) {
  return RunOnWorkers(context, workers,
                      [response, work = std::move(work)]() mutable -> absl::Status {
                        auto result = work();
                        if (!result.ok()) return result.status();
                        *response = *std::move(result);
                        return absl::OkStatus();
                      });
}

}  // namespace im
