#include "services/gateway/send_batcher.h"

#include <grpcpp/grpcpp.h>

#include <utility>

#include "services/message/public/channel_key.h"

namespace im::gateway {
struct SendBatcher::Call {
  grpc::ClientContext context;
  im::message::v1::SendRequest request;
  im::message::v1::SendResponse response;
  std::vector<Callback> callbacks;
};

SendBatcher::SendBatcher(std::shared_ptr<im::message::v1::MessageService::StubInterface> stub,
                         Options options)
    : stub_(std::move(stub)), options_(options), shards_(std::max<size_t>(1, options.shards)) {}

SendBatcher::~SendBatcher() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return calls_in_flight_ == 0; });
}

bool SendBatcher::Submit(const std::string& channel_key, im::message::v1::SendItem item,
                         Callback done) {
  const size_t index = LaneOfChannel(channel_key, shards_.size());
  const size_t bytes = item.ByteSizeLong();
  std::shared_ptr<Call> call;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Shard& shard = shards_[index];
    if (shard.queue.size() >= options_.max_queue ||
        shard.queued_bytes + bytes > options_.max_queue_bytes) {
      return false;
    }
    shard.queued_bytes += bytes;
    shard.queue.push_back({std::move(item), bytes, std::move(done)});
    if (!shard.in_flight) call = TakeBatchLocked(index);
  }
  if (call != nullptr) Start(std::move(call), index);
  return true;
}

std::shared_ptr<SendBatcher::Call> SendBatcher::TakeBatchLocked(size_t shard_index) {
  Shard& shard = shards_[shard_index];
  auto call = std::make_shared<Call>();
  size_t bytes = 0;
  while (!shard.queue.empty() && call->callbacks.size() < options_.max_batch) {
    Pending& pending = shard.queue.front();
    if (!call->callbacks.empty() && bytes + pending.bytes > options_.max_batch_bytes) break;
    bytes += pending.bytes;
    shard.queued_bytes -= pending.bytes;
    *call->request.add_items() = std::move(pending.item);
    call->callbacks.push_back(std::move(pending.done));
    shard.queue.pop_front();
  }
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  shard.in_flight = true;
  ++calls_in_flight_;
  return call;
}

void SendBatcher::Start(std::shared_ptr<Call> call, size_t shard_index) {
  Call* raw = call.get();
  stub_->async()->Send(
      &raw->context, &raw->request, &raw->response,
      [this, call = std::move(call), shard_index](grpc::Status status) {
        const bool complete = status.ok() && call->response.results_size() ==
                                                 static_cast<int>(call->callbacks.size());
        if (status.ok() && !complete) {
          status = grpc::Status(grpc::StatusCode::INTERNAL,
                                "message service answered with the wrong number of results");
        }
        SendOutcome outcome;
        outcome.status = status;
        for (size_t i = 0; i < call->callbacks.size(); ++i) {
          if (complete) outcome.result = std::move(*call->response.mutable_results(i));
          call->callbacks[i](outcome);
        }
        std::shared_ptr<Call> next;
        {
          std::lock_guard<std::mutex> lock(mu_);
          --calls_in_flight_;
          shards_[shard_index].in_flight = false;
          if (!shards_[shard_index].queue.empty()) next = TakeBatchLocked(shard_index);
          idle_.notify_all();
        }
        if (next != nullptr) Start(std::move(next), shard_index);
      });
}

}  // namespace im::gateway
