// gRPC face of MessageService: Send goes to the send pipeline and finishes from its lane thread,
// its answer carrying the pipeline's lane count; reads (history, heads, read positions) run on the
// worker pool; Notify is queued for fan-out. No logic lives here.
#pragma once

#include "common/worker_pool.h"
#include "im/message/v1/message.grpc.pb.h"
#include "services/message/heads_reader.h"
#include "services/message/message_reader.h"
#include "services/message/send_pipeline.h"

namespace im::message {

class MessageGrpcService final : public im::message::v1::MessageService::CallbackService {
 public:
  struct Options {
    // Most items in one Send or Notify call.
    int max_items = 1000;
    // Most uids in one Notify item.
    size_t max_notify_uids = 10000;
  };

  MessageGrpcService(SendPipeline* pipeline, MessageReader* reader, HeadsReader* heads,
                     WorkerPool* workers, Options options)
      : pipeline_(pipeline), reader_(reader), heads_(heads), workers_(workers), options_(options) {}

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context,
                                 const v1::SendRequest* request,
                                 v1::SendResponse* response) override;
  grpc::ServerUnaryReactor* SyncChannelMessages(grpc::CallbackServerContext* context,
                                                const v1::SyncChannelMessagesRequest* request,
                                                v1::SyncChannelMessagesResponse* response) override;
  grpc::ServerUnaryReactor* GetMessages(grpc::CallbackServerContext* context,
                                        const v1::GetMessagesRequest* request,
                                        v1::GetMessagesResponse* response) override;
  grpc::ServerUnaryReactor* Notify(grpc::CallbackServerContext* context,
                                   const v1::NotifyRequest* request,
                                   v1::NotifyResponse* response) override;
  grpc::ServerUnaryReactor* GetChannelHeads(grpc::CallbackServerContext* context,
                                            const v1::GetChannelHeadsRequest* request,
                                            v1::GetChannelHeadsResponse* response) override;
  grpc::ServerUnaryReactor* GetReadPosition(grpc::CallbackServerContext* context,
                                            const v1::GetReadPositionRequest* request,
                                            v1::ReadPosition* response) override;

 private:
  SendPipeline* pipeline_;
  MessageReader* reader_;
  HeadsReader* heads_;
  WorkerPool* workers_;
  const Options options_;
};

}  // namespace im::message
