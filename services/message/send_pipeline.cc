#include "services/message/send_pipeline.h"

#include <algorithm>
#include <atomic>

#include "absl/time/clock.h"
#include "services/message/public/channel_key.h"

namespace im::message {
namespace {

namespace v1 = im::message::v1;

// 50us to 2.5s: a stage of a quiet lane takes well under a millisecond, a stalled one seconds.
const prometheus::Histogram::BucketBoundaries kStageBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5};
const prometheus::Histogram::BucketBoundaries kBatchBuckets = {1,  2,   4,   8,   16,  32,
                                                               64, 128, 256, 512, 1024};
const prometheus::Histogram::BucketBoundaries kLaneBuckets = {1, 2, 4, 8, 16, 32};

}  // namespace

// One Submit: its items with their keys, their results, and how many are still unsettled.
struct SendPipeline::Call {
  absl::Time submitted = absl::Now();
  std::vector<v1::SendItem> items;
  std::vector<KeyedSendItem> keyed;
  std::vector<v1::SendResult> results;
  std::atomic<size_t> unsettled;
  Done done;
};

SendPipeline::SendPipeline(SendProcessor* processor, Fanout* fanout,
                           ConversationClient* conversations, Options options,
                           prometheus::Registry& registry)
    : processor_(processor),
      fanout_(fanout),
      conversations_(conversations),
      options_(options),
      batch_items_(prometheus::BuildHistogram()
                       .Name("im_message_send_batch_items")
                       .Help("Items per send batch a lane processed.")
                       .Register(registry)
                       .Add({}, kBatchBuckets)),
      call_lanes_(prometheus::BuildHistogram()
                      .Name("im_message_send_call_lanes")
                      .Help("Lanes one Send call's items were spread over; the call waits for the "
                            "slowest of them. Above 1 a caller shards by another lane count.")
                      .Register(registry)
                      .Add({}, kLaneBuckets)),
      stage_seconds_(prometheus::BuildHistogram()
                         .Name("im_message_send_stage_seconds")
                         .Help("Wall time of each stage of a send batch: queued (its oldest item "
                               "waiting for the lane), reads (membership, dedupe and the heads of "
                               "new chats, one round trip), conversations, seqs, commit, and "
                               "acking (completing the callers).")
                         .Register(registry)),
      queued_seconds_(stage_seconds_.Add({{"stage", "queued"}}, kStageBuckets)),
      reads_seconds_(stage_seconds_.Add({{"stage", "reads"}}, kStageBuckets)),
      conversations_seconds_(stage_seconds_.Add({{"stage", "conversations"}}, kStageBuckets)),
      seqs_seconds_(stage_seconds_.Add({{"stage", "seqs"}}, kStageBuckets)),
      commit_seconds_(stage_seconds_.Add({{"stage", "commit"}}, kStageBuckets)),
      acking_seconds_(stage_seconds_.Add({{"stage", "acking"}}, kStageBuckets)) {
  for (int i = 0; i < options_.lanes; ++i) lanes_.push_back(std::make_unique<Lane>(options_));
  for (size_t i = 0; i < lanes_.size(); ++i) {
    lanes_[i]->thread = std::thread([this, i] { Loop(i); });
  }
}

SendPipeline::~SendPipeline() {
  for (auto& lane : lanes_) lane->queue.Stop();
  for (auto& lane : lanes_) lane->thread.join();
}

size_t SendPipeline::LaneFor(const std::string& channel_key) const {
  return fanout_->LaneFor(channel_key);
}

void SendPipeline::Submit(std::vector<v1::SendItem> items, Done done) {
  auto call = std::make_shared<Call>();
  call->results.resize(items.size());
  call->unsettled = items.size();
  call->items = std::move(items);
  call->done = std::move(done);
  if (call->items.empty()) {
    call->done({});
    return;
  }
  // Items of one channel go to one lane in request order; an item whose channel is invalid goes
  // anywhere, the processor rejects it.
  std::vector<std::vector<size_t>> by_lane(lanes_.size());
  call->keyed.reserve(call->items.size());
  for (size_t i = 0; i < call->items.size(); ++i) {
    const KeyedSendItem& keyed = call->keyed.emplace_back(call->items[i]);
    by_lane[keyed.key.ok() ? LaneFor(keyed.key->str()) : 0].push_back(i);
  }
  call_lanes_.Observe(static_cast<double>(
      std::count_if(by_lane.begin(), by_lane.end(), [](const auto& l) { return !l.empty(); })));
  for (size_t l = 0; l < lanes_.size(); ++l) {
    if (by_lane[l].empty()) continue;
    std::vector<Entry> entries;
    entries.reserve(by_lane[l].size());
    for (size_t i : by_lane[l]) entries.push_back(Entry{call, i});
    for (const Entry& entry : lanes_[l]->queue.PushAll(std::move(entries))) {
      v1::SendResult result;
      result.set_reason(im::common::v1::REASON_CODE_UNAVAILABLE);
      result.set_message("message service busy; retry later");
      Settle(entry, std::move(result));
    }
  }
}

void SendPipeline::Notify(std::vector<FanoutItem> items) {
  fanout_->EnqueueByChannel(std::move(items));
}

void SendPipeline::Settle(const Entry& entry, v1::SendResult result) {
  Call& call = *entry.call;
  call.results[entry.index] = std::move(result);
  if (call.unsettled.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    call.done(std::move(call.results));
  }
}

size_t SendPipeline::PayloadBytes(const Entry& entry) {
  return entry.call->items[entry.index].payload().size();
}

void SendPipeline::Loop(size_t lane_index) {
  Lane& lane = *lanes_[lane_index];
  for (;;) {
    std::vector<Entry> batch = lane.queue.PopBatch(options_.max_batch);
    if (batch.empty()) return;
    const absl::Time popped = absl::Now();
    absl::Time oldest = popped;
    std::vector<const KeyedSendItem*> items;
    items.reserve(batch.size());
    for (const Entry& entry : batch) {
      items.push_back(&entry.call->keyed[entry.index]);
      oldest = std::min(oldest, entry.call->submitted);
    }
    SendStages stages;
    std::vector<SendOutcome> outcomes = processor_->Process(items, &stages);
    const absl::Time processed = absl::Now();
    std::vector<FanoutItem> fanout;
    std::vector<im::conversation::v1::ReadAdvance> advances;
    bool cmds_stored = false;
    for (size_t i = 0; i < batch.size(); ++i) {
      cmds_stored = cmds_stored || outcomes[i].cmd_stored;
      if (outcomes[i].fanout.has_value()) fanout.push_back(*std::move(outcomes[i].fanout));
      if (outcomes[i].read_advance.has_value()) {
        advances.push_back(*std::move(outcomes[i].read_advance));
      }
      Settle(batch[i], std::move(outcomes[i].result));
    }
    Observe(batch.size(), popped - oldest, stages, absl::Now() - processed);
    fanout_->Enqueue(lane_index, std::move(fanout));
    conversations_->AdvanceReads(std::move(advances));
    if (cmds_stored && options_.cmds_stored) options_.cmds_stored();
  }
}

void SendPipeline::Observe(size_t items, absl::Duration queued, const SendStages& stages,
                           absl::Duration acking) {
  batch_items_.Observe(static_cast<double>(items));
  queued_seconds_.Observe(absl::ToDoubleSeconds(queued));
  reads_seconds_.Observe(absl::ToDoubleSeconds(stages.reads));
  conversations_seconds_.Observe(absl::ToDoubleSeconds(stages.conversations));
  seqs_seconds_.Observe(absl::ToDoubleSeconds(stages.seqs));
  commit_seconds_.Observe(absl::ToDoubleSeconds(stages.commit));
  acking_seconds_.Observe(absl::ToDoubleSeconds(acking));
}

}  // namespace im::message
