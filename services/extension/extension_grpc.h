// gRPC face of the extension service: Set is validated on the gRPC thread (no I/O) and queued on
// the SetPipeline, which finishes the call from its lane; Get and Sync run on the worker pool.
// Statuses (with FAILED_PRECONDITION's details) map through common/status. No logic lives here.
#pragma once

#include "common/worker_pool.h"
#include "im/extension/v1/extension.grpc.pb.h"
#include "services/extension/extensions.h"
#include "services/extension/set_pipeline.h"

namespace im::extension {

class ExtensionGrpcService final : public v1::ExtensionService::CallbackService {
 public:
  ExtensionGrpcService(Extensions* extensions, SetPipeline* pipeline, WorkerPool* workers)
      : extensions_(extensions), pipeline_(pipeline), workers_(workers) {}

  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* context, const v1::SetRequest* request,
                                v1::SetResponse* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context, const v1::GetRequest* request,
                                v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const v1::SyncRequest* request,
                                 v1::SyncResponse* response) override;

 private:
  Extensions* extensions_;
  SetPipeline* pipeline_;
  WorkerPool* workers_;
};

}  // namespace im::extension
