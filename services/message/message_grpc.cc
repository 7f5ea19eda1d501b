#include "services/message/message_grpc.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/async_call.h"
#include "services/message/notifications.h"

namespace im::message {
grpc::ServerUnaryReactor* MessageGrpcService::Send(grpc::CallbackServerContext* context,
                                                   const v1::SendRequest* request,
                                                   v1::SendResponse* response) {
  if (request->items().empty() || request->items_size() > options_.max_items) {
    return FinishNow(context, absl::InvalidArgumentError(
                                  absl::StrCat("Send takes 1..", options_.max_items, " items")));
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  response->set_send_lanes(static_cast<uint32_t>(pipeline_->lanes()));
  pipeline_->Submit({request->items().begin(), request->items().end()},
                    [reactor, response](std::vector<v1::SendResult> results) {
                      for (v1::SendResult& result : results) {
                        *response->add_results() = std::move(result);
                      }
                      reactor->Finish(grpc::Status::OK);
                    });
  return reactor;
}

grpc::ServerUnaryReactor* MessageGrpcService::SyncChannelMessages(
    grpc::CallbackServerContext* context, const v1::SyncChannelMessagesRequest* request,
    v1::SyncChannelMessagesResponse* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return reader_->Sync(*request); });
}

grpc::ServerUnaryReactor* MessageGrpcService::GetMessages(grpc::CallbackServerContext* context,
                                                          const v1::GetMessagesRequest* request,
                                                          v1::GetMessagesResponse* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return reader_->Get(*request); });
}

grpc::ServerUnaryReactor* MessageGrpcService::Notify(grpc::CallbackServerContext* context,
                                                     const v1::NotifyRequest* request,
                                                     v1::NotifyResponse*) {
  if (request->items_size() > options_.max_items) {
    return FinishNow(context, absl::InvalidArgumentError(absl::StrCat(
                                  "Notify takes at most ", options_.max_items, " items")));
  }
  absl::StatusOr<std::vector<FanoutItem>> items = ToFanoutItems(*request, options_.max_notify_uids);
  if (!items.ok()) return FinishNow(context, items.status());
  pipeline_->Notify(*std::move(items));
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* MessageGrpcService::GetChannelHeads(
    grpc::CallbackServerContext* context, const v1::GetChannelHeadsRequest* request,
    v1::GetChannelHeadsResponse* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return heads_->GetChannelHeads(*request); });
}

grpc::ServerUnaryReactor* MessageGrpcService::GetReadPosition(
    grpc::CallbackServerContext* context, const v1::GetReadPositionRequest* request,
    v1::ReadPosition* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return heads_->GetReadPosition(*request); });
}

}  // namespace im::message
