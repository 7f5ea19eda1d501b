#include "services/conversation/conversation_grpc.h"

#include <utility>

#include "common/async_call.h"

namespace im::conversation {
namespace {

// Runs a Conversations method that returns StatusOr<Response> and moves the value into `response`.
template <typename Request, typename Response, typename Method>
grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, WorkerPool& workers,
                              Conversations* conversations, Method method, const Request* request,
                              Response* response) {
  return RunOnWorkers(context, workers, [=]() -> absl::Status {
    auto result = (conversations->*method)(*request);
    if (!result.ok()) return result.status();
    *response = *std::move(result);
    return absl::OkStatus();
  });
}

}  // namespace

grpc::ServerUnaryReactor* ConversationGrpcService::Sync(grpc::CallbackServerContext* context,
                                                        const v1::SyncRequest* request,
                                                        v1::SyncResponse* response) {
  return RunOnWorkers(context, *workers_,
                      [=, this] { return conversations_->Sync(*request, response); });
}

grpc::ServerUnaryReactor* ConversationGrpcService::GetChannelSeqs(
    grpc::CallbackServerContext* context, const v1::GetChannelSeqsRequest* request,
    v1::GetChannelSeqsResponse* response) {
  return RunOnWorkers(context, *workers_,
                      [=, this] { return conversations_->GetChannelSeqs(*request, response); });
}

grpc::ServerUnaryReactor* ConversationGrpcService::ClearUnread(
    grpc::CallbackServerContext* context, const v1::ClearUnreadRequest* request,
    v1::ConversationState* response) {
  return Run(context, *workers_, conversations_, &Conversations::ClearUnread, request, response);
}

grpc::ServerUnaryReactor* ConversationGrpcService::SetUnread(grpc::CallbackServerContext* context,
                                                             const v1::SetUnreadRequest* request,
                                                             v1::ConversationState* response) {
  return Run(context, *workers_, conversations_, &Conversations::SetUnread, request, response);
}

grpc::ServerUnaryReactor* ConversationGrpcService::Delete(grpc::CallbackServerContext* context,
                                                          const v1::DeleteRequest* request,
                                                          v1::ConversationState* response) {
  return Run(context, *workers_, conversations_, &Conversations::Delete, request, response);
}

grpc::ServerUnaryReactor* ConversationGrpcService::SetPinned(grpc::CallbackServerContext* context,
                                                             const v1::SetPinnedRequest* request,
                                                             v1::ConversationState* response) {
  return Run(context, *workers_, conversations_, &Conversations::SetPinned, request, response);
}

grpc::ServerUnaryReactor* ConversationGrpcService::SetMuted(grpc::CallbackServerContext* context,
                                                            const v1::SetMutedRequest* request,
                                                            v1::ConversationState* response) {
  return Run(context, *workers_, conversations_, &Conversations::SetMuted, request, response);
}

grpc::ServerUnaryReactor* ConversationGrpcService::Ensure(grpc::CallbackServerContext* context,
                                                          const v1::EnsureRequest* request,
                                                          v1::EnsureResponse* response) {
  return Run(context, *workers_, conversations_, &Conversations::Ensure, request, response);
}

grpc::ServerUnaryReactor* ConversationGrpcService::AdvanceReads(
    grpc::CallbackServerContext* context, const v1::AdvanceReadsRequest* request,
    v1::AdvanceReadsResponse*) {
  return RunOnWorkers(context, *workers_,
                      [=, this] { return conversations_->AdvanceReads(*request); });
}

}  // namespace im::conversation
