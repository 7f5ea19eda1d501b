// Fan-out after commit: who should get each pushed item, which gateways hold their devices
// (presence), and one GatewayService.Deliver per gateway per batch. A group's batch costs one
// subscriber query, one presence pipeline and one call per gateway, not work per member.
//
// Each lane has one worker and one ordered queue, and a worker starts a batch only after the
// previous batch's calls have finished, so a channel (always on one lane) reaches every gateway in
// seq order (DESIGN.md invariant 7). Delivery is best effort: failures are logged and counted,
// never retried; devices that missed a push catch up by sync.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/presence.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/message/channel_store.h"
#include "services/message/fanout_item.h"
#include "services/message/gateway_clients.h"

namespace im::message {

class Fanout {
 public:
  struct Options {
    int lanes = 4;
    // Items waiting per lane; beyond it new items are dropped (and counted).
    size_t max_queue = 100000;
    // Most items delivered in one batch.
    size_t max_batch = 4096;
  };

  // Counters are registered in `registry`.
  Fanout(ChannelStore* channels, PresenceStore* presence, GatewayClients* gateways, Options options,
         prometheus::Registry& registry);
  // Delivers what is queued, then stops the workers.
  ~Fanout();
  Fanout(const Fanout&) = delete;
  Fanout& operator=(const Fanout&) = delete;

  // Queues items behind everything queued on `lane` before them.
  void Enqueue(size_t lane, std::vector<FanoutItem> items);

  // Delivers one batch on the calling thread and returns when every Deliver call has finished.
  void DeliverBatch(const std::vector<FanoutItem>& items);

 private:
  struct Lane {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<FanoutItem> queue;
    bool stopping = false;
    std::thread thread;
  };

  void Loop(Lane& lane);
  // The recipient uids of each item; empty where they could not be found.
  std::vector<std::vector<std::string>> Recipients(const std::vector<FanoutItem>& items);

  ChannelStore* channels_;
  PresenceStore* presence_;
  GatewayClients* gateways_;
  const Options options_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Counter& deliver_calls_;
  std::vector<std::unique_ptr<Lane>> lanes_;
};

}  // namespace im::message
