#include "services/message/channel_grpc.h"

#include "common/async_call.h"

namespace im::message {

grpc::ServerUnaryReactor* ChannelGrpcService::CreateGroup(grpc::CallbackServerContext* context,
                                                          const v1::CreateGroupRequest* request,
                                                          v1::Group* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return channels_->CreateGroup(*request); });
}

grpc::ServerUnaryReactor* ChannelGrpcService::UpdateGroup(grpc::CallbackServerContext* context,
                                                          const v1::UpdateGroupRequest* request,
                                                          v1::Group* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return channels_->UpdateGroup(*request); });
}

grpc::ServerUnaryReactor* ChannelGrpcService::DeleteGroup(grpc::CallbackServerContext* context,
                                                          const v1::DeleteGroupRequest* request,
                                                          v1::DeleteGroupResponse*) {
  return RunOnWorkers(context, *workers_,
                      [this, request] { return channels_->DeleteGroup(*request); });
}

grpc::ServerUnaryReactor* ChannelGrpcService::AddSubscribers(
    grpc::CallbackServerContext* context, const v1::AddSubscribersRequest* request,
    v1::AddSubscribersResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<uint32_t> added = channels_->AddSubscribers(*request);
    if (!added.ok()) return added.status();
    response->set_added(*added);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ChannelGrpcService::RemoveSubscribers(
    grpc::CallbackServerContext* context, const v1::RemoveSubscribersRequest* request,
    v1::RemoveSubscribersResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<uint32_t> removed = channels_->RemoveSubscribers(*request);
    if (!removed.ok()) return removed.status();
    response->set_removed(*removed);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ChannelGrpcService::ListSubscribers(
    grpc::CallbackServerContext* context, const v1::ListSubscribersRequest* request,
    v1::ListSubscribersResponse* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return channels_->ListSubscribers(*request); });
}

grpc::ServerUnaryReactor* ChannelGrpcService::CheckSubscribers(
    grpc::CallbackServerContext* context, const v1::CheckSubscribersRequest* request,
    v1::CheckSubscribersResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<std::vector<bool>> flags = channels_->CheckSubscribers(*request);
    if (!flags.ok()) return flags.status();
    for (bool flag : *flags) response->add_is_subscriber(flag);
    return absl::OkStatus();
  });
}

}  // namespace im::message
