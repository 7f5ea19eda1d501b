#include "services/message/fanout.h"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "services/message/public/channel_key.h"

namespace im::message {
namespace {

// Upper bounds on what protobuf adds around a DeliverItem in a request (tag and a length prefix
// of up to 5 bytes) and around one Recipient with its uid and cmd_seq (tags, length prefixes and a
// 10-byte varint), so an estimated request size is never below the serialized one.
constexpr size_t kItemOverhead = 6;
constexpr size_t kRecipientOverhead = 24;

size_t PayloadBytes(const FanoutItem& item) { return item.item.message().payload().size(); }

// One gateway's share of a batch as it is split into requests of at most `max_bytes`.
class RequestBuilder {
 public:
  explicit RequestBuilder(size_t max_bytes) : max_bytes_(max_bytes) { requests_.emplace_back(); }

  // Adds `uid` (with its cmd_seq, 0 = none) as a recipient of batch item `index`, whose body is
  // `body` of `body_bytes` serialized bytes. Items arrive in batch order.
  void Add(size_t index, const im::gateway::v1::DeliverItem& body, size_t body_bytes,
           const std::string& uid, int64_t cmd_seq) {
    const size_t recipient_bytes = uid.size() + kRecipientOverhead;
    bool new_item = last_item_ != index;
    if (bytes_ > 0 &&
        bytes_ + recipient_bytes + (new_item ? body_bytes + kItemOverhead : 0) > max_bytes_) {
      // The rest of this item's recipients go with a copy of its body in the next request.
      requests_.emplace_back();
      bytes_ = 0;
      new_item = true;
    }
    if (new_item) {
      *requests_.back().add_items() = body;
      last_item_ = index;
      bytes_ += body_bytes + kItemOverhead;
    }
    im::gateway::v1::DeliverRequest& request = requests_.back();
    im::gateway::v1::Recipient* recipient =
        request.mutable_items(request.items_size() - 1)->add_recipients();
    recipient->set_uid(uid);
    recipient->set_cmd_seq(cmd_seq);
    bytes_ += recipient_bytes;
  }

  std::vector<im::gateway::v1::DeliverRequest> Take() { return std::move(requests_); }

 private:
  size_t max_bytes_;
  std::vector<im::gateway::v1::DeliverRequest> requests_;
  // Estimated size of requests_.back().
  size_t bytes_ = 0;
  size_t last_item_ = SIZE_MAX;
};

bool IsExcluded(const gateway::PresenceEntry& entry, const im::gateway::v1::DeliverItem& item) {
  return item.has_exclude_device() && entry.uid == item.exclude_device().uid() &&
         entry.device_id == item.exclude_device().device_id();
}

}  // namespace

Fanout::Fanout(ChannelStore* channels, gateway::PresenceStore* presence, GatewayClients* gateways,
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
    lanes_.push_back(std::make_unique<Lane>(options_));
    Lane& lane = *lanes_.back();
    lane.thread = std::thread([this, &lane] { Loop(lane); });
  }
}

Fanout::Lane::Lane(const Options& options)
    : queue({.max_items = options.max_queue, .max_bytes = options.max_queue_bytes}, &PayloadBytes) {
}

Fanout::~Fanout() {
  for (auto& lane : lanes_) lane->queue.Stop();
  for (auto& lane : lanes_) lane->thread.join();
}

void Fanout::Enqueue(size_t lane_index, std::vector<FanoutItem> items) {
  if (items.empty()) return;
  // What does not fit is dropped from the first refused item on, so a channel's pushes have no
  // hole in the middle; the receivers catch up by sync.
  const size_t dropped = lanes_[lane_index % lanes_.size()]->queue.PushAll(std::move(items)).size();
  if (dropped > 0) {
    failures_.Add({{"stage", "queue_full"}}).Increment(static_cast<double>(dropped));
    log::Warning("fanout_queue_full", {{"dropped", absl::StrCat(dropped)}});
  }
}

size_t Fanout::LaneFor(const std::string& channel_key) const {
  return LaneOfChannel(channel_key, lanes_.size());
}

void Fanout::EnqueueByChannel(std::vector<FanoutItem> items) {
  std::vector<std::vector<FanoutItem>> by_lane(lanes_.size());
  for (FanoutItem& item : items) by_lane[LaneFor(item.channel_key)].push_back(std::move(item));
  for (size_t l = 0; l < by_lane.size(); ++l) Enqueue(l, std::move(by_lane[l]));
}

void Fanout::Loop(Lane& lane) {
  for (;;) {
    std::vector<FanoutItem> batch = lane.queue.PopBatch(options_.max_batch);
    if (batch.empty()) return;
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
    if (item.explicit_uids) {
      recipients[i] = item.uids;
      continue;
    }
    absl::StatusOr<ChannelKey> key = ChannelKey::Parse(item.channel_key);
    if (!key.ok()) continue;
    if (key->is_person()) {
      recipients[i] = {std::string(key->low_uid()), std::string(key->high_uid())};
    } else {
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

// One gateway's requests of a batch, sent in order.
struct Fanout::GatewayRequests {
  std::string address;
  std::vector<im::gateway::v1::DeliverRequest> requests;
};

std::vector<Fanout::GatewayRequests> Fanout::BuildRequests(
    const std::vector<FanoutItem>& items, const std::vector<std::vector<std::string>>& recipients,
    const std::vector<std::vector<gateway::PresenceEntry>>& presence,
    const absl::flat_hash_map<std::string, size_t>& uid_index) const {
  absl::flat_hash_map<std::string, RequestBuilder> builders;
  std::vector<std::string> addresses;
  for (size_t i = 0; i < items.size(); ++i) {
    const FanoutItem& item = items[i];
    if (recipients[i].empty()) continue;
    const size_t body_bytes = item.item.ByteSizeLong();
    for (size_t k = 0; k < recipients[i].size(); ++k) {
      const std::string& uid = recipients[i][k];
      absl::flat_hash_set<std::string_view> gateways_of_uid;
      for (const gateway::PresenceEntry& entry : presence[uid_index.at(uid)]) {
        // A gateway whose only device of this uid is the excluded one has nothing to push.
        if (IsExcluded(entry, item.item) || !gateways_of_uid.insert(entry.gateway).second) continue;
        auto [it, inserted] = builders.try_emplace(entry.gateway, options_.max_request_bytes);
        if (inserted) addresses.push_back(entry.gateway);
        it->second.Add(i, item.item, body_bytes, uid, item.cmd_seqs.empty() ? 0 : item.cmd_seqs[k]);
      }
    }
  }
  std::vector<GatewayRequests> result;
  result.reserve(addresses.size());
  for (std::string& address : addresses) {
    std::vector<im::gateway::v1::DeliverRequest> requests = builders.at(address).Take();
    result.push_back({std::move(address), std::move(requests)});
  }
  return result;
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
  absl::StatusOr<std::vector<std::vector<gateway::PresenceEntry>>> presence =
      presence_->Lookup(uids);
  if (!presence.ok()) {
    failures_.Add({{"stage", "presence"}}).Increment(static_cast<double>(items.size()));
    log::Warning("fanout_presence_failed", {{"error", std::string(presence.status().message())}});
    return;
  }

  std::vector<GatewayRequests> gateways = BuildRequests(items, recipients, *presence, uid_index);
  if (gateways.empty()) return;

  std::mutex mu;
  std::condition_variable cv;
  size_t outstanding = gateways.size();
  // Sends request `next` of a gateway; its callback starts the one after it, so a gateway sees
  // the batch in order.
  std::function<void(GatewayRequests&, size_t)> send = [&](GatewayRequests& gateway, size_t next) {
    deliver_calls_.Increment();
    gateways_->Deliver(gateway.address, std::move(gateway.requests[next]),
                       [&, &gateway = gateway, next](const grpc::Status& status) {
                         if (status.ok() && next + 1 < gateway.requests.size()) {
                           send(gateway, next + 1);
                           return;
                         }
                         if (!status.ok()) {
                           // A gateway that failed would likely make each later request wait out
                           // its deadline and hold up the lane; its devices catch up by sync.
                           failures_.Add({{"stage", "deliver"}})
                               .Increment(static_cast<double>(gateway.requests.size() - next));
                           log::Warning("deliver_failed", {{"gateway", gateway.address},
                                                           {"error", status.error_message()}});
                         }
                         std::lock_guard<std::mutex> lock(mu);
                         if (--outstanding == 0) cv.notify_all();
                       });
  };
  for (GatewayRequests& gateway : gateways) send(gateway, 0);
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return outstanding == 0; });
}

}  // namespace im::message
