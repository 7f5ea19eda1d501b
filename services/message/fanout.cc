#include "services/message/fanout.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/channel_key.h"
#include "common/log.h"

namespace im::message {
namespace {

// Per gateway: the request being built and which batch item its last DeliverItem is for.
struct GatewayBatch {
  im::gateway::v1::DeliverRequest request;
  size_t last_item = SIZE_MAX;
};

bool IsExcluded(const PresenceEntry& entry, const im::gateway::v1::DeliverItem& item) {
  return item.has_exclude_device() && entry.uid == item.exclude_device().uid() &&
         entry.device_id == item.exclude_device().device_id();
}

}  // namespace

Fanout::Fanout(ChannelStore* channels, PresenceStore* presence, GatewayClients* gateways,
               Options options, prometheus::Registry& registry)
    : channels_(channels),
      presence_(presence),
      gateways_(gateways),
      options_(options),
      failures_(prometheus::BuildCounter()
                    .Name("im_message_fanout_failures_total")
                    .Help("Pushes not delivered, by stage (queue_full, subscribers, presence in "
                          "items; deliver in gateway calls).")
                    .Register(registry)),
      deliver_calls_(prometheus::BuildCounter()
                         .Name("im_message_deliver_calls_total")
                         .Help("GatewayService.Deliver calls made by fan-out.")
                         .Register(registry)
                         .Add({})) {
  for (int i = 0; i < options_.lanes; ++i) {
    lanes_.push_back(std::make_unique<Lane>());
    Lane& lane = *lanes_.back();
    lane.thread = std::thread([this, &lane] { Loop(lane); });
  }
}

Fanout::~Fanout() {
  for (auto& lane : lanes_) {
    {
      std::lock_guard<std::mutex> lock(lane->mu);
      lane->stopping = true;
    }
    lane->cv.notify_all();
  }
  for (auto& lane : lanes_) lane->thread.join();
}

void Fanout::Enqueue(size_t lane_index, std::vector<FanoutItem> items) {
  if (items.empty()) return;
  Lane& lane = *lanes_[lane_index % lanes_.size()];
  size_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(lane.mu);
    for (FanoutItem& item : items) {
      if (lane.queue.size() >= options_.max_queue) {
        ++dropped;
        continue;
      }
      lane.queue.push_back(std::move(item));
    }
  }
  lane.cv.notify_one();
  if (dropped > 0) {
    failures_.Add({{"stage", "queue_full"}}).Increment(static_cast<double>(dropped));
    log::Warning("fanout_queue_full", {{"dropped", absl::StrCat(dropped)}});
  }
}

void Fanout::Loop(Lane& lane) {
  for (;;) {
    std::vector<FanoutItem> batch;
    {
      std::unique_lock<std::mutex> lock(lane.mu);
      lane.cv.wait(lock, [&] { return lane.stopping || !lane.queue.empty(); });
      if (lane.queue.empty()) return;
      while (!lane.queue.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(lane.queue.front()));
        lane.queue.pop_front();
      }
    }
    DeliverBatch(batch);
  }
}

std::vector<std::vector<std::string>> Fanout::Recipients(const std::vector<FanoutItem>& items) {
  std::vector<std::vector<std::string>> recipients(items.size());
  std::vector<size_t> group_items;
  std::vector<std::string> group_keys;
  absl::flat_hash_map<std::string, size_t> group_index;
  for (size_t i = 0; i < items.size(); ++i) {
    const FanoutItem& item = items[i];
    std::string low, high, group_id;
    if (item.explicit_uids) {
      recipients[i] = item.uids;
    } else if (ParsePersonKey(item.channel_key, &low, &high)) {
      recipients[i] = {low, high};
    } else if (ParseGroupKey(item.channel_key, &group_id)) {
      group_items.push_back(i);
      if (group_index.try_emplace(item.channel_key, group_keys.size()).second) {
        group_keys.push_back(item.channel_key);
      }
    }
  }
  if (group_keys.empty()) return recipients;
  absl::StatusOr<std::vector<std::vector<std::string>>> subscribers =
      channels_->SubscribersOf(group_keys);
  if (!subscribers.ok()) {
    failures_.Add({{"stage", "subscribers"}}).Increment(static_cast<double>(group_items.size()));
    log::Warning("fanout_subscribers_failed",
                 {{"error", std::string(subscribers.status().message())}});
    return recipients;
  }
  for (size_t i : group_items) {
    recipients[i] = (*subscribers)[group_index.at(items[i].channel_key)];
  }
  return recipients;
}

void Fanout::DeliverBatch(const std::vector<FanoutItem>& items) {
  const std::vector<std::vector<std::string>> recipients = Recipients(items);

  std::vector<std::string> uids;
  absl::flat_hash_map<std::string, size_t> uid_index;
  for (const auto& list : recipients) {
    for (const std::string& uid : list) {
      if (uid_index.try_emplace(uid, uids.size()).second) uids.push_back(uid);
    }
  }
  if (uids.empty()) return;
  absl::StatusOr<std::vector<std::vector<PresenceEntry>>> presence = presence_->Lookup(uids);
  if (!presence.ok()) {
    failures_.Add({{"stage", "presence"}}).Increment(static_cast<double>(items.size()));
    log::Warning("fanout_presence_failed", {{"error", std::string(presence.status().message())}});
    return;
  }

  absl::flat_hash_map<std::string, GatewayBatch> batches;
  for (size_t i = 0; i < items.size(); ++i) {
    const FanoutItem& item = items[i];
    for (size_t k = 0; k < recipients[i].size(); ++k) {
      const std::string& uid = recipients[i][k];
      absl::flat_hash_set<std::string_view> gateways_of_uid;
      for (const PresenceEntry& entry : (*presence)[uid_index.at(uid)]) {
        // A gateway whose only device of this uid is the excluded one has nothing to push.
        if (IsExcluded(entry, item.item) || !gateways_of_uid.insert(entry.gateway).second) continue;
        GatewayBatch& batch = batches[entry.gateway];
        if (batch.last_item != i) {
          batch.last_item = i;
          *batch.request.add_items() = item.item;
        }
        im::gateway::v1::Recipient* recipient =
            batch.request.mutable_items(batch.request.items_size() - 1)->add_recipients();
        recipient->set_uid(uid);
        if (!item.cmd_seqs.empty()) recipient->set_cmd_seq(item.cmd_seqs[k]);
      }
    }
  }
  if (batches.empty()) return;

  std::mutex mu;
  std::condition_variable cv;
  size_t outstanding = batches.size();
  for (auto& [address, batch] : batches) {
    deliver_calls_.Increment();
    gateways_->Deliver(address, std::move(batch.request),
                       [&, address = address](const grpc::Status& status) {
                         if (!status.ok()) {
                           failures_.Add({{"stage", "deliver"}}).Increment();
                           log::Warning("deliver_failed",
                                        {{"gateway", address}, {"error", status.error_message()}});
                         }
                         std::lock_guard<std::mutex> lock(mu);
                         if (--outstanding == 0) cv.notify_all();
                       });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return outstanding == 0; });
}

}  // namespace im::message
