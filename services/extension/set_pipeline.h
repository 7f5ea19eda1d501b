// The threads of the Set path. Each Set is queued on one of N lanes by channel key, so a channel's
// changes are decided in arrival order; a lane takes everything queued (up to a batch), runs it
// through Extensions::SetBatch (one transaction, one sequence call), answers the callers, and only
// then queues the batch's notifications. Callers never wait on a thread of their own: `done` runs
// on the lane thread.
//
//   SetPipeline pipeline(&extensions, &message_client, {.lanes = 4});
//   pipeline.Submit(std::move(pending), [reactor, response](SetOutcome outcome) { ... });
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "services/extension/extensions.h"
#include "services/extension/message_client.h"

namespace im::extension {

class SetPipeline {
 public:
  struct Options {
    int lanes = 4;
    // Most Sets one lane processes as one batch.
    size_t max_batch = 256;
    // Sets waiting per lane; beyond it Submit refuses.
    size_t max_queue = 20000;
  };
  using Done = std::function<void(SetOutcome)>;

  SetPipeline(Extensions* extensions, MessageClient* messages, Options options);
  // Processes what is queued, then stops the lanes.
  ~SetPipeline();
  SetPipeline(const SetPipeline&) = delete;
  SetPipeline& operator=(const SetPipeline&) = delete;

  // Queues the change; `done` runs once, on a lane thread, after its batch settled. False (and
  // `done` not called) when the lane's queue is full or the pipeline is stopping.
  bool Submit(PendingSet pending, Done done);

 private:
  struct Entry {
    PendingSet pending;
    Done done;
  };
  struct Lane {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Entry> queue;
    bool stopping = false;
    std::thread thread;
  };

  void Loop(size_t lane_index);

  Extensions* extensions_;
  MessageClient* messages_;
  const Options options_;
  std::vector<std::unique_ptr<Lane>> lanes_;
};

}  // namespace im::extension
