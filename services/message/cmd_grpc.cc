#include "services/message/cmd_grpc.h"

#include "common/async_call.h"

namespace im::message {

grpc::ServerUnaryReactor* CmdGrpcService::Sync(grpc::CallbackServerContext* context,
                                               const v1::CmdSyncRequest* request,
                                               v1::CmdSyncResponse* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return inbox_->Sync(*request); });
}

grpc::ServerUnaryReactor* CmdGrpcService::Ack(grpc::CallbackServerContext* context,
                                              const v1::CmdAckRequest* request,
                                              v1::CmdAckResponse*) {
  return RunOnWorkers(context, *workers_, [this, request] { return inbox_->Ack(*request); });
}

}  // namespace im::message
