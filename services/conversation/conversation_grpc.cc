#include "services/conversation/conversation_grpc.h"

#include <utility>

#include "common/async_call.h"

namespace im::conversation {
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
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return conversations_->ClearUnread(*request); });
}

grpc::ServerUnaryReactor* ConversationGrpcService::SetUnread(grpc::CallbackServerContext* context,
                                                             const v1::SetUnreadRequest* request,
                                                             v1::ConversationState* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return conversations_->SetUnread(*request); });
}

grpc::ServerUnaryReactor* ConversationGrpcService::Delete(grpc::CallbackServerContext* context,
                                                          const v1::DeleteRequest* request,
                                                          v1::ConversationState* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return conversations_->Delete(*request); });
}

grpc::ServerUnaryReactor* ConversationGrpcService::SetPinned(grpc::CallbackServerContext* context,
                                                             const v1::SetPinnedRequest* request,
                                                             v1::ConversationState* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return conversations_->SetPinned(*request); });
}

grpc::ServerUnaryReactor* ConversationGrpcService::SetMuted(grpc::CallbackServerContext* context,
                                                            const v1::SetMutedRequest* request,
                                                            v1::ConversationState* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return conversations_->SetMuted(*request); });
}

grpc::ServerUnaryReactor* ConversationGrpcService::Ensure(grpc::CallbackServerContext* context,
                                                          const v1::EnsureRequest* request,
                                                          v1::EnsureResponse* response) {
  return RunOnWorkers(context, *workers_, response,
                      [this, request] { return conversations_->Ensure(*request); });
}

grpc::ServerUnaryReactor* ConversationGrpcService::AdvanceReads(
    grpc::CallbackServerContext* context, const v1::AdvanceReadsRequest* request,
    v1::AdvanceReadsResponse*) {
  return RunOnWorkers(context, *workers_,
                      [=, this] { return conversations_->AdvanceReads(*request); });
}

}  // namespace im::conversation
