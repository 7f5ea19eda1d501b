// gRPC face of CmdService: Sync and Ack run CmdInbox on the worker pool. No logic lives here.
#pragma once

#include "common/worker_pool.h"
#include "im/message/v1/message.grpc.pb.h"
#include "services/message/cmd_inbox.h"

namespace im::message {

class CmdGrpcService final : public im::message::v1::CmdService::CallbackService {
 public:
  CmdGrpcService(CmdInbox* inbox, WorkerPool* workers) : inbox_(inbox), workers_(workers) {}

  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const v1::CmdSyncRequest* request,
                                 v1::CmdSyncResponse* response) override;
  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* context,
                                const v1::CmdAckRequest* request,
                                v1::CmdAckResponse* response) override;

 private:
  CmdInbox* inbox_;
  WorkerPool* workers_;
};

}  // namespace im::message
