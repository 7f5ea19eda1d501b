// gRPC face of the conversation service: runs each call's Conversations method on the worker pool
// (they wait on Postgres and the message service) and maps statuses. No logic lives here.
#pragma once

#include "common/worker_pool.h"
#include "im/conversation/v1/conversation.grpc.pb.h"
#include "services/conversation/conversations.h"

namespace im::conversation {

class ConversationGrpcService final : public v1::ConversationService::CallbackService {
 public:
  ConversationGrpcService(Conversations* conversations, WorkerPool* workers)
      : conversations_(conversations), workers_(workers) {}

  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const v1::SyncRequest* request,
                                 v1::SyncResponse* response) override;
  grpc::ServerUnaryReactor* GetChannelSeqs(grpc::CallbackServerContext* context,
                                           const v1::GetChannelSeqsRequest* request,
                                           v1::GetChannelSeqsResponse* response) override;
  grpc::ServerUnaryReactor* ClearUnread(grpc::CallbackServerContext* context,
                                        const v1::ClearUnreadRequest* request,
                                        v1::ConversationState* response) override;
  grpc::ServerUnaryReactor* SetUnread(grpc::CallbackServerContext* context,
                                      const v1::SetUnreadRequest* request,
                                      v1::ConversationState* response) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const v1::DeleteRequest* request,
                                   v1::ConversationState* response) override;
  grpc::ServerUnaryReactor* SetPinned(grpc::CallbackServerContext* context,
                                      const v1::SetPinnedRequest* request,
                                      v1::ConversationState* response) override;
  grpc::ServerUnaryReactor* SetMuted(grpc::CallbackServerContext* context,
                                     const v1::SetMutedRequest* request,
                                     v1::ConversationState* response) override;
  grpc::ServerUnaryReactor* Ensure(grpc::CallbackServerContext* context,
                                   const v1::EnsureRequest* request,
                                   v1::EnsureResponse* response) override;
  grpc::ServerUnaryReactor* AdvanceReads(grpc::CallbackServerContext* context,
                                         const v1::AdvanceReadsRequest* request,
                                         v1::AdvanceReadsResponse* response) override;

 private:
  Conversations* conversations_;
  WorkerPool* workers_;
};

}  // namespace im::conversation
