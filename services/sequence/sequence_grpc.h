// gRPC face of the sequence service: translates im.sequence.v1 messages to Sequencer calls, runs
// them on the worker pool, and maps statuses. No logic lives here.
#pragma once

#include "common/worker_pool.h"
#include "im/sequence/v1/sequence.grpc.pb.h"
#include "services/sequence/sequencer.h"

namespace im::sequence {

class SequenceGrpcService final : public im::sequence::v1::SequenceService::CallbackService {
 public:
  SequenceGrpcService(Sequencer* sequencer, WorkerPool* workers)
      : sequencer_(sequencer), workers_(workers) {}

  grpc::ServerUnaryReactor* Allocate(grpc::CallbackServerContext* context,
                                     const v1::AllocateRequest* request,
                                     v1::AllocateResponse* response) override;
  grpc::ServerUnaryReactor* AllocateBatch(grpc::CallbackServerContext* context,
                                          const v1::AllocateBatchRequest* request,
                                          v1::AllocateBatchResponse* response) override;

 private:
  Sequencer* sequencer_;
  WorkerPool* workers_;
};

}  // namespace im::sequence
