// Batches SENDs from all connections into MessageService.Send calls. Items are spread over shards
// by channel key; each shard has at most one call in flight and sends what queued meanwhile (up to
// `max_batch`) when it returns, so batches grow with load without a linger timer (up to `max_batch`
// items and `max_batch_bytes`), and the sends of one channel reach the message service in arrival
// order (per-connection order per channel).
//
// There is one shard per send lane of the message service, with its lane function
// (ChannelKey::Lane), so each call waits for one lane rather than for the slowest of several. The
// lane count is learned, not configured: every Send answer carries it (send_lanes). Until the
// first answer everything goes through one shard; when an answer names another count, the batcher
// starts no call until those in flight have returned, then regroups what is queued by the new
// count (a channel's items keep their order) and goes on with that many shards.
//
//   SendBatcher batcher(stub, {.max_batch = 256});
//   batcher.Submit(channel_key, std::move(item), [](const SendOutcome& outcome) { ... });
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "im/message/v1/message.grpc.pb.h"
#include "services/message/public/channel_key.h"

namespace im::gateway {

// The message service's result for one item, or the failure of the whole call.
struct SendOutcome {
  grpc::Status status;
  im::message::v1::SendResult result;
};

class SendBatcher {
 public:
  struct Options {
    size_t max_batch = 256;
    // Bytes of items per call, well under gRPC's default 4 MiB message limit; a single larger item
    // still goes alone.
    size_t max_batch_bytes = 1024 * 1024;
    // Items and bytes waiting per shard; beyond either Submit refuses.
    size_t max_queue = 8192;
    size_t max_queue_bytes = 32 * 1024 * 1024;
    absl::Duration timeout = absl::Seconds(5);
  };
  using Callback = std::function<void(const SendOutcome&)>;

  SendBatcher(std::shared_ptr<im::message::v1::MessageService::StubInterface> stub,
              Options options);
  // Waits for calls in flight; their callbacks run first.
  ~SendBatcher();

  // Queues `item`; `done` runs once, on a gRPC thread, and must not block. False (and `done` not
  // called) when the shard's queue is full.
  bool Submit(const ChannelKey& channel_key, im::message::v1::SendItem item, Callback done);

  // The shards in use: 1 until the message service told its lane count, then that count.
  size_t shards() const;

 private:
  struct Pending {
    ChannelKey channel_key;
    im::message::v1::SendItem item;
    size_t bytes;
    Callback done;
  };
  struct Shard {
    std::deque<Pending> queue;
    size_t queued_bytes = 0;
    bool in_flight = false;
  };

  struct Call;
  using Started = std::vector<std::pair<std::shared_ptr<Call>, size_t>>;
  // With mu_ held and the shard idle: takes a batch off its queue and marks the shard busy.
  std::shared_ptr<Call> TakeBatchLocked(size_t shard_index);
  // With mu_ held: takes a batch off each idle shard that has items queued.
  Started TakeIdleBatchesLocked();
  // With mu_ held and no call in flight: regroups the queues into `lanes_wanted_` shards and
  // takes the first batch of each.
  Started ReshardLocked();
  // Starts the call, outside mu_ (a callback may run before this returns).
  void Start(std::shared_ptr<Call> call, size_t shard_index);
  // The call's answer is in: settles its items and starts what may go next.
  void Finish(Call& call, size_t shard_index, grpc::Status status);

  const std::shared_ptr<im::message::v1::MessageService::StubInterface> stub_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::vector<Shard> shards_;
  // A lane count the last answer named that the shards do not follow yet (0: none).
  size_t lanes_wanted_ = 0;
  int calls_in_flight_ = 0;
};

}  // namespace im::gateway
