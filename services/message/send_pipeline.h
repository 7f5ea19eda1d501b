// The threads of the send path. Items are queued on one of N lanes by channel key, so a channel's
// items are processed in arrival order by one thread; each lane takes everything queued (up to a
// batch), runs it through SendProcessor (one round trip of reads, one seq call, one insert for the
// whole batch), completes the callers, and only then hands the batch to fan-out, moves the
// senders' read positions (queued for ConversationClient's next AdvanceReads) and wakes the cmd
// expander.
// Callers never wait on a thread of their own: `done` runs on the lane thread. Each batch's size
// and the time of each of its stages go to histograms, so a latency can be taken apart in
// production, and so does the number of lanes each Submit was spread over: a call waits for the
// slowest of its lanes, so a caller that batches by channel (the gateway) shards by lanes() and
// LaneOfChannel, and each of its calls takes one lane.
//
//   SendPipeline pipeline(&processor, &fanout, &conversations, {.lanes = 4}, registry);
//   pipeline.Submit(items, [reactor, response](std::vector<SendResult> results) { ... });
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "im/message/v1/message.pb.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/message/conversation_client.h"
#include "services/message/fanout.h"
#include "services/message/lane_queue.h"
#include "services/message/send_processor.h"

namespace im::message {

class SendPipeline {
 public:
  struct Options {
    int lanes = 2;
    // Most items one lane processes as one batch.
    size_t max_batch = 512;
    // Items and payload bytes waiting per lane; beyond either new items fail at once with
    // UNAVAILABLE (an item always fits an empty lane).
    size_t max_queue = 100000;
    size_t max_queue_bytes = 64 << 20;
    // Called on a lane thread after a batch that stored cmds was acked (wakes the cmd expander);
    // must not block.
    std::function<void()> cmds_stored;
  };
  using Done = std::function<void(std::vector<im::message::v1::SendResult>)>;

  // `fanout` must have the same number of lanes. Histograms are registered in `registry`.
  SendPipeline(SendProcessor* processor, Fanout* fanout, ConversationClient* conversations,
               Options options, prometheus::Registry& registry);
  // Processes what is queued, then stops the lanes.
  ~SendPipeline();
  SendPipeline(const SendPipeline&) = delete;
  SendPipeline& operator=(const SendPipeline&) = delete;

  // Queues the items; `done` runs once, on a lane thread, with one result per item in item order,
  // after every item is settled (committed or failed).
  void Submit(std::vector<im::message::v1::SendItem> items, Done done);

  // Queues notifications for fan-out on their channels' lanes.
  void Notify(std::vector<FanoutItem> items);

  // The lane of a channel key, and how many lanes there are.
  size_t LaneFor(const std::string& channel_key) const;
  size_t lanes() const { return lanes_.size(); }

 private:
  struct Call;
  struct Entry {
    std::shared_ptr<Call> call;
    size_t index;
  };
  struct Lane {
    explicit Lane(const Options& options)
        : queue({.max_items = options.max_queue, .max_bytes = options.max_queue_bytes},
                &PayloadBytes) {}
    LaneQueue<Entry> queue;
    std::thread thread;
  };

  void Loop(size_t lane_index);
  void Observe(size_t items, absl::Duration queued, const SendStages& stages,
               absl::Duration acking);
  static void Settle(const Entry& entry, im::message::v1::SendResult result);
  static size_t PayloadBytes(const Entry& entry);

  SendProcessor* processor_;
  Fanout* fanout_;
  ConversationClient* conversations_;
  const Options options_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  prometheus::Histogram& batch_items_;
  prometheus::Histogram& call_lanes_;
  prometheus::Family<prometheus::Histogram>& stage_seconds_;
  prometheus::Histogram& queued_seconds_;
  prometheus::Histogram& reads_seconds_;
  prometheus::Histogram& conversations_seconds_;
  prometheus::Histogram& seqs_seconds_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Histogram& acking_seconds_;
};

}  // namespace im::message
