#include "services/message/send_pipeline.h"

#include <atomic>

#include "common/channel_key.h"

namespace im::message {

namespace v1 = im::message::v1;

// One Submit: its items, their results, and how many are still unsettled.
struct SendPipeline::Call {
  std::vector<v1::SendItem> items;
  std::vector<v1::SendResult> results;
  std::atomic<size_t> unsettled;
  Done done;
};

SendPipeline::SendPipeline(SendProcessor* processor, Fanout* fanout,
                           ConversationClient* conversations, Options options)
    : processor_(processor), fanout_(fanout), conversations_(conversations), options_(options) {
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
  for (size_t i = 0; i < call->items.size(); ++i) {
    const v1::SendItem& item = call->items[i];
    absl::StatusOr<std::string> key = ChannelKeyFor(item.from_uid(), item.channel());
    by_lane[key.ok() ? LaneFor(*key) : 0].push_back(i);
  }
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
    std::vector<const v1::SendItem*> items;
    items.reserve(batch.size());
    for (const Entry& entry : batch) items.push_back(&entry.call->items[entry.index]);
    std::vector<SendOutcome> outcomes = processor_->Process(items);
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
    fanout_->Enqueue(lane_index, std::move(fanout));
    conversations_->AdvanceReads(std::move(advances));
    if (cmds_stored && options_.cmds_stored) options_.cmds_stored();
  }
}

}  // namespace im::message
