// The message service's view of the conversation service: Ensure (blocking, before a first person
// message commits and after group members are added) and AdvanceReads (asynchronous, best effort,
// after a batch is acked: each sender has read what it sent, DESIGN.md invariant 5). Advances are
// merged per uid and channel and sent by a thread of their own, one call per advance_interval at
// most, so one call (one conversation transaction) carries every batch's advances of that time:
// a sender who sends every few milliseconds moves one read position a few times a second, not
// once per message.
//
//   ConversationClient conversations(channel, {.timeout = absl::Seconds(3)}, registry);
//   absl::Status s = conversations.Ensure(items);       // UNAVAILABLE etc. on failure
//   conversations.AdvanceReads(std::move(advances));    // returns at once
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "im/conversation/v1/conversation.grpc.pb.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace im::message {

class ConversationClient {
 public:
  struct Options {
    // Deadline of one call.
    absl::Duration timeout = absl::Seconds(3);
    // AdvanceReads calls in flight. Advances arriving while this many are out wait, merged per
    // uid and channel (the furthest read_seq wins).
    size_t max_advance_calls = 1;
    // Least time between the starts of two AdvanceReads calls: how long a read position may lag
    // its sender's last message, bought with fewer conversation writes.
    absl::Duration advance_interval = absl::Milliseconds(100);
    // Most advances in one call (the conversation service takes at most its --max_items).
    size_t max_advance_items = 10000;
    // Waiting advances (distinct uid and channel); beyond it new ones are dropped (and counted):
    // the read positions only save the clients a ClearUnread, unread stays exact without them.
    size_t max_pending_advances = 100000;
  };

  // Counters are registered in `registry`.
  ConversationClient(std::shared_ptr<grpc::Channel> channel, Options options,
                     prometheus::Registry& registry);
  // Sends the waiting advances at once and waits until their calls ended (each by its deadline).
  ~ConversationClient();
  ConversationClient(const ConversationClient&) = delete;
  ConversationClient& operator=(const ConversationClient&) = delete;

  // One Ensure call for all items; blocks up to the timeout. The gRPC failure comes back with its
  // code, prefixed "conversation service: ".
  absl::Status Ensure(std::vector<im::conversation::v1::EnsureItem> items);

  // Queues the advances and returns at once; they go in the next AdvanceReads call. Failures are
  // logged and counted.
  void AdvanceReads(std::vector<im::conversation::v1::ReadAdvance> items);

 private:
  struct AdvanceCall;
  // uid, channel type, channel id.
  using AdvanceKey = std::tuple<std::string, int, std::string>;

  // Starts a call with the waiting advances whenever one may start, until stopped and drained.
  void SendLoop();
  // A call with the waiting advances (the caller starts it outside the lock).
  std::shared_ptr<AdvanceCall> TakeAdvanceCallLocked();
  void StartAdvanceCall(std::shared_ptr<AdvanceCall> call);
  void AdvanceEnded(const grpc::Status& status, size_t items);

  std::unique_ptr<im::conversation::v1::ConversationService::Stub> stub_;
  const Options options_;
  prometheus::Family<prometheus::Counter>& failures_;
  std::mutex mu_;
  // Advances waiting, a call ended, or stopping.
  std::condition_variable changed_;
  // Stopping, for the wait between two calls.
  std::condition_variable stop_;
  bool stopping_ = false;
  size_t advance_calls_ = 0;
  absl::flat_hash_map<AdvanceKey, im::conversation::v1::ReadAdvance> pending_advances_;
  std::thread sender_;
};

}  // namespace im::message
