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
    : stub_(std::move(stub)), options_(options), shards_(1) {}

SendBatcher::~SendBatcher() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return calls_in_flight_ == 0; });
}

size_t SendBatcher::shards() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shards_.size();
}

bool SendBatcher::Submit(const ChannelKey& channel_key, im::message::v1::SendItem item,
                         Callback done) {
  const size_t bytes = item.ByteSizeLong();
  std::shared_ptr<Call> call;
  size_t index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = channel_key.Lane(shards_.size());
    Shard& shard = shards_[index];
    if (shard.queue.size() >= options_.max_queue ||
        shard.queued_bytes + bytes > options_.max_queue_bytes) {
      return false;
    }
    shard.queued_bytes += bytes;
    shard.queue.push_back({channel_key, std::move(item), bytes, std::move(done)});
    if (!shard.in_flight && lanes_wanted_ == 0) call = TakeBatchLocked(index);
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

SendBatcher::Started SendBatcher::ReshardLocked() {
  // A channel's queued items all sit in one shard, in order, so appending shard by shard keeps
  // each channel's order in its new shard.
  std::vector<Shard> next(lanes_wanted_);
  for (Shard& shard : shards_) {
    for (Pending& pending : shard.queue) {
      Shard& to = next[pending.channel_key.Lane(next.size())];
      to.queued_bytes += pending.bytes;
      to.queue.push_back(std::move(pending));
    }
  }
  shards_ = std::move(next);
  lanes_wanted_ = 0;
  return TakeIdleBatchesLocked();
}

SendBatcher::Started SendBatcher::TakeIdleBatchesLocked() {
  Started started;
  for (size_t i = 0; i < shards_.size(); ++i) {
    if (!shards_[i].in_flight && !shards_[i].queue.empty()) {
      started.emplace_back(TakeBatchLocked(i), i);
    }
  }
  return started;
}

void SendBatcher::Start(std::shared_ptr<Call> call, size_t shard_index) {
  Call* raw = call.get();
  stub_->async()->Send(&raw->context, &raw->request, &raw->response,
                       [this, call = std::move(call), shard_index](grpc::Status status) {
                         Finish(*call, shard_index, std::move(status));
                       });
}

void SendBatcher::Finish(Call& call, size_t shard_index, grpc::Status status) {
  const bool complete =
      status.ok() && call.response.results_size() == static_cast<int>(call.callbacks.size());
  if (status.ok() && !complete) {
    status = grpc::Status(grpc::StatusCode::INTERNAL,
                          "message service answered with the wrong number of results");
  }
  SendOutcome outcome;
  outcome.status = status;
  for (size_t i = 0; i < call.callbacks.size(); ++i) {
    if (complete) outcome.result = std::move(*call.response.mutable_results(i));
    call.callbacks[i](outcome);
  }
  Started next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --calls_in_flight_;
    shards_[shard_index].in_flight = false;
    // The last answer wins (replicas in a rolling change of --send_lanes may disagree).
    if (const size_t lanes = call.response.send_lanes(); complete && lanes > 0) {
      lanes_wanted_ = lanes == shards_.size() ? 0 : lanes;
    }
    if (lanes_wanted_ == 0) {
      // Also the shards that waited for a change of count that a later answer called off.
      next = TakeIdleBatchesLocked();
    } else if (calls_in_flight_ == 0) {
      next = ReshardLocked();
    }
    idle_.notify_all();
  }
  for (auto& [batch, index] : next) Start(std::move(batch), index);
}

}  // namespace im::gateway
