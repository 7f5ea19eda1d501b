#include "services/conversation/message_client.h"

#include "common/status.h"

namespace im::conversation {

constexpr char kCallee[] = "message service";

GrpcMessageClient::GrpcMessageClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
    : stub_(im::message::v1::MessageService::NewStub(std::move(channel))), timeout_(timeout) {}

void GrpcMessageClient::SetDeadline(grpc::ClientContext& context) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
}

absl::StatusOr<im::message::v1::GetChannelHeadsResponse> GrpcMessageClient::GetHeads(
    const std::string& uid, const HeadsQuery& query) {
  im::message::v1::GetChannelHeadsRequest request;
  request.set_uid(uid);
  request.mutable_channels()->Assign(query.channels.begin(), query.channels.end());
  request.set_with_messages(query.with_messages);
  request.set_msg_count(query.msg_count);
  request.mutable_hidden_to_seqs()->Assign(query.hidden_to_seqs.begin(),
                                           query.hidden_to_seqs.end());
  grpc::ClientContext context;
  SetDeadline(context);
  im::message::v1::GetChannelHeadsResponse response;
  const grpc::Status status = stub_->GetChannelHeads(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, kCallee);
  if (response.heads_size() != request.channels_size()) {
    return absl::InternalError("message service: wrong number of channel heads");
  }
  return response;
}

absl::StatusOr<im::message::v1::ReadPosition> GrpcMessageClient::GetReadPosition(
    const im::message::v1::GetReadPositionRequest& request) {
  grpc::ClientContext context;
  SetDeadline(context);
  im::message::v1::ReadPosition response;
  const grpc::Status status = stub_->GetReadPosition(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, kCallee);
  return response;
}

absl::Status GrpcMessageClient::PushSeqUpdate(const std::string& uid,
                                              const std::string& except_device_id,
                                              const im::conversation::v1::SeqUpdate& update) {
  im::message::v1::NotifyRequest request;
  im::message::v1::NotifyItem* item = request.add_items();
  *item->mutable_channel() = update.channel();
  item->add_uids(uid);
  if (!except_device_id.empty()) {
    item->mutable_exclude_device()->set_uid(uid);
    item->mutable_exclude_device()->set_device_id(except_device_id);
  }
  *item->mutable_seq_update() = update;
  grpc::ClientContext context;
  SetDeadline(context);
  im::message::v1::NotifyResponse response;
  const grpc::Status status = stub_->Notify(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, kCallee);
  return absl::OkStatus();
}

}  // namespace im::conversation
