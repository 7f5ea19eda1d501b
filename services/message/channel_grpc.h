// gRPC face of ChannelService: each call runs Channels on the worker pool. No logic lives here.
#pragma once

#include "common/worker_pool.h"
#include "im/message/v1/message.grpc.pb.h"
#include "services/message/channels.h"

namespace im::message {

class ChannelGrpcService final : public im::message::v1::ChannelService::CallbackService {
 public:
  ChannelGrpcService(Channels* channels, WorkerPool* workers)
      : channels_(channels), workers_(workers) {}

  grpc::ServerUnaryReactor* CreateGroup(grpc::CallbackServerContext* context,
                                        const v1::CreateGroupRequest* request,
                                        v1::Group* response) override;
  grpc::ServerUnaryReactor* UpdateGroup(grpc::CallbackServerContext* context,
                                        const v1::UpdateGroupRequest* request,
                                        v1::Group* response) override;
  grpc::ServerUnaryReactor* DeleteGroup(grpc::CallbackServerContext* context,
                                        const v1::DeleteGroupRequest* request,
                                        v1::DeleteGroupResponse* response) override;
  grpc::ServerUnaryReactor* AddSubscribers(grpc::CallbackServerContext* context,
                                           const v1::AddSubscribersRequest* request,
                                           v1::AddSubscribersResponse* response) override;
  grpc::ServerUnaryReactor* RemoveSubscribers(grpc::CallbackServerContext* context,
                                              const v1::RemoveSubscribersRequest* request,
                                              v1::RemoveSubscribersResponse* response) override;
  grpc::ServerUnaryReactor* ListSubscribers(grpc::CallbackServerContext* context,
                                            const v1::ListSubscribersRequest* request,
                                            v1::ListSubscribersResponse* response) override;
  grpc::ServerUnaryReactor* CheckSubscribers(grpc::CallbackServerContext* context,
                                             const v1::CheckSubscribersRequest* request,
                                             v1::CheckSubscribersResponse* response) override;

 private:
  Channels* channels_;
  WorkerPool* workers_;
};

}  // namespace im::message
