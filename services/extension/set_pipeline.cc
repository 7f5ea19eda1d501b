#include "services/extension/set_pipeline.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"

namespace im::extension {

SetPipeline::SetPipeline(Extensions* extensions, MessageClient* messages, Options options)
    : extensions_(extensions), messages_(messages), options_(options) {
  const int lanes = std::max(options_.lanes, 1);
  for (int i = 0; i < lanes; ++i) lanes_.push_back(std::make_unique<Lane>());
  for (int i = 0; i < lanes; ++i) {
    lanes_[i]->thread = std::thread([this, i] { Loop(static_cast<size_t>(i)); });
  }
}

SetPipeline::~SetPipeline() {
  for (auto& lane : lanes_) {
    {
      std::lock_guard<std::mutex> lock(lane->mu);
      lane->stopping = true;
    }
    lane->cv.notify_all();
  }
  for (auto& lane : lanes_) lane->thread.join();
}

bool SetPipeline::Submit(PendingSet pending, Done done) {
  Lane& lane = *lanes_[absl::Hash<std::string>{}(pending.channel_key) % lanes_.size()];
  {
    std::lock_guard<std::mutex> lock(lane.mu);
    if (lane.stopping || lane.queue.size() >= options_.max_queue) return false;
    lane.queue.push_back(Entry{std::move(pending), std::move(done)});
  }
  lane.cv.notify_one();
  return true;
}

void SetPipeline::Loop(size_t lane_index) {
  Lane& lane = *lanes_[lane_index];
  while (true) {
    std::vector<Entry> batch;
    {
      std::unique_lock<std::mutex> lock(lane.mu);
      lane.cv.wait(lock, [&] { return lane.stopping || !lane.queue.empty(); });
      if (lane.queue.empty()) return;
      while (!lane.queue.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(lane.queue.front()));
        lane.queue.pop_front();
      }
    }
    std::vector<const PendingSet*> items;
    items.reserve(batch.size());
    for (const Entry& entry : batch) items.push_back(&entry.pending);
    SetBatchResult result = extensions_->SetBatch(items);
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(result.outcomes[i]));
    for (auto& request : result.notifications) messages_->Notify(lane_index, std::move(request));
  }
}

}  // namespace im::extension
