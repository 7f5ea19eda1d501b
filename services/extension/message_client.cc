#include "services/extension/message_client.h"

#include <algorithm>
#include <optional>
#include <string>

#include "common/log.h"
#include "common/status.h"

namespace im::extension {
namespace {

constexpr char kCallee[] = "message service";

// Messages per GetMessages call: the answer carries payloads (up to 64 KiB each by default) and the
// message service refuses answers over 2 MiB.
constexpr size_t kGetChunk = 16;

}  // namespace

struct GrpcMessageClient::Call {
  grpc::ClientContext context;
  im::message::v1::NotifyRequest request;
  im::message::v1::NotifyResponse response;
};

GrpcMessageClient::GrpcMessageClient(std::shared_ptr<grpc::Channel> channel, Options options)
    : messages_(im::message::v1::MessageService::NewStub(channel)),
      channels_(im::message::v1::ChannelService::NewStub(channel)),
      options_(options) {
  for (size_t i = 0; i < std::max<size_t>(options_.notify_lanes, 1); ++i) {
    lanes_.push_back(std::make_unique<Lane>());
  }
}

GrpcMessageClient::~GrpcMessageClient() {
  for (auto& lane : lanes_) {
    std::lock_guard<std::mutex> lock(lane->mu);
    lane->queue.clear();
  }
  std::unique_lock<std::mutex> lock(calls_mu_);
  calls_cv_.wait(lock, [this] { return calls_ == 0; });
}

void GrpcMessageClient::SetDeadline(grpc::ClientContext& context) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
}

absl::StatusOr<absl::flat_hash_map<uint64_t, int64_t>> GrpcMessageClient::MessageSeqs(
    const std::string& uid, const im::common::v1::Channel& channel,
    const std::vector<uint64_t>& message_ids) {
  absl::flat_hash_map<uint64_t, int64_t> seqs;
  for (size_t begin = 0; begin < message_ids.size(); begin += kGetChunk) {
    const size_t end = std::min(message_ids.size(), begin + kGetChunk);
    im::message::v1::GetMessagesRequest request;
    request.set_uid(uid);
    *request.mutable_channel() = channel;
    request.mutable_message_ids()->Assign(message_ids.begin() + begin, message_ids.begin() + end);
    grpc::ClientContext context;
    SetDeadline(context);
    im::message::v1::GetMessagesResponse response;
    const grpc::Status status = messages_->GetMessages(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status, kCallee);
    for (const im::common::v1::Message& message : response.messages()) {
      seqs[message.message_id()] = message.message_seq();
    }
  }
  return seqs;
}

absl::StatusOr<std::vector<bool>> GrpcMessageClient::CheckSubscribers(
    const std::string& group_id, const std::vector<std::string>& uids) {
  im::message::v1::CheckSubscribersRequest request;
  request.mutable_channel()->set_type(im::common::v1::CHANNEL_TYPE_GROUP);
  request.mutable_channel()->set_id(group_id);
  request.mutable_uids()->Assign(uids.begin(), uids.end());
  grpc::ClientContext context;
  SetDeadline(context);
  im::message::v1::CheckSubscribersResponse response;
  const grpc::Status status = channels_->CheckSubscribers(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, kCallee);
  if (response.is_subscriber_size() != request.uids_size()) {
    return absl::InternalError("message service: wrong number of subscriber flags");
  }
  return std::vector<bool>(response.is_subscriber().begin(), response.is_subscriber().end());
}

void GrpcMessageClient::Notify(size_t lane_index, im::message::v1::NotifyRequest request) {
  Lane& lane = *lanes_[lane_index % lanes_.size()];
  {
    std::lock_guard<std::mutex> lock(lane.mu);
    if (lane.in_flight) {
      if (lane.queue.size() >= options_.max_queued) {
        log::Warning("extension notify dropped: queue full",
                     {{"queued", std::to_string(lane.queue.size())}});
        return;
      }
      lane.queue.push_back(std::move(request));
      return;
    }
    lane.in_flight = true;
  }
  Start(lane, std::move(request));
}

void GrpcMessageClient::Start(Lane& lane, im::message::v1::NotifyRequest request) {
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    ++calls_;
  }
  auto call = std::make_shared<Call>();
  SetDeadline(call->context);
  call->request = std::move(request);
  messages_->async()->Notify(
      &call->context, &call->request, &call->response,
      [this, &lane, call](grpc::Status status) mutable {
        // Released before Finished can let the destructor drop the channel, so the channel is
        // never released from inside a gRPC callback.
        call.reset();
        if (!status.ok()) {
          log::Warning("extension notify failed", {{"error", status.error_message()}});
        }
        Finished(lane);
      });
}

void GrpcMessageClient::Finished(Lane& lane) {
  std::optional<im::message::v1::NotifyRequest> next;
  {
    std::lock_guard<std::mutex> lock(lane.mu);
    if (lane.queue.empty()) {
      lane.in_flight = false;
    } else {
      next = std::move(lane.queue.front());
      lane.queue.pop_front();
    }
  }
  if (next.has_value()) Start(lane, *std::move(next));
  std::lock_guard<std::mutex> lock(calls_mu_);
  --calls_;
  calls_cv_.notify_all();
}

}  // namespace im::extension
