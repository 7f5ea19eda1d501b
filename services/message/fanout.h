// Fan-out after commit: who should get each pushed item, which gateways hold their devices
// (presence), and one GatewayService.Deliver per gateway per batch. A group's batch costs one
// subscriber query, one presence pipeline and one call per gateway, not work per member.
//
// Each lane has one worker and one ordered queue, and a worker starts a batch only after the
// previous batch's calls have finished, so a channel (always on one lane) reaches every gateway in
// seq order (DESIGN.md invariant 7). A gateway's share of a batch is split into requests of at most
// `max_request_bytes` (gRPC rejects messages over 4 MiB by default); they go out one after the
// other, each started when the previous one finished, while different gateways run in parallel.
// Delivery is best effort: failures are logged and counted, never retried; devices that missed a
// push catch up by sync.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/gateway/public/presence_store.h"
#include "services/message/channel_store.h"
#include "services/message/fanout_item.h"
#include "services/message/gateway_clients.h"
#include "services/message/lane_queue.h"

namespace im::message {

class Fanout {
 public:
  struct Options {
    int lanes = 2;
    // Items and payload bytes waiting per lane; beyond either new items are dropped (and counted).
    size_t max_queue = 100000;
    size_t max_queue_bytes = 64 << 20;
    // Most items delivered in one batch.
    size_t max_batch = 4096;
    // Largest serialized DeliverRequest (estimated from above); one item's recipients are spread
    // over several requests if they alone exceed it. A single item body larger than this still goes
    // out, alone.
    size_t max_request_bytes = 1 << 20;
  };

  // Counters are registered in `registry`.
  Fanout(ChannelStore* channels, gateway::PresenceStore* presence, GatewayClients* gateways,
         Options options, prometheus::Registry& registry);
  // Delivers what is queued, then stops the workers.
  ~Fanout();
  Fanout(const Fanout&) = delete;
  Fanout& operator=(const Fanout&) = delete;

  // Queues items behind everything queued on `lane` before them.
  void Enqueue(size_t lane, std::vector<FanoutItem> items);

  // The lane of a channel key (the send lanes use the same mapping), and Enqueue of each item on
  // its channel key's lane.
  size_t LaneFor(const std::string& channel_key) const;
  void EnqueueByChannel(std::vector<FanoutItem> items);

  // Delivers one batch on the calling thread and returns when every Deliver call has finished. A
  // gateway that fails a request gets none of its later requests of this batch. Order per device
  // holds because a batch starts only after the previous one's calls returned; a call that timed
  // out may still run on the gateway, so the deadline (--deliver_timeout) must stay far above a
  // gateway's handling time (microseconds: it only queues frames), or the next batch may overtake.
  void DeliverBatch(const std::vector<FanoutItem>& items);

 private:
  struct Lane {
    explicit Lane(const Options& options);
    LaneQueue<FanoutItem> queue;
    std::thread thread;
  };

  struct GatewayRequests;

  void Loop(Lane& lane);
  // Splits the batch into each gateway's requests, in item order.
  std::vector<GatewayRequests> BuildRequests(
      const std::vector<FanoutItem>& items, const std::vector<std::vector<std::string>>& recipients,
      const std::vector<std::vector<gateway::PresenceEntry>>& presence,
      const absl::flat_hash_map<std::string, size_t>& uid_index) const;
  // The recipient uids of each item; empty where they could not be found.
  std::vector<std::vector<std::string>> Recipients(const std::vector<FanoutItem>& items);

  ChannelStore* channels_;
  gateway::PresenceStore* presence_;
  GatewayClients* gateways_;
  const Options options_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Counter& deliver_calls_;
  std::vector<std::unique_ptr<Lane>> lanes_;
};

}  // namespace im::message
