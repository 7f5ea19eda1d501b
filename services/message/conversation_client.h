// The message service's view of the conversation service: Ensure (blocking, before a first person
// message commits and after group members are added) and AdvanceReads (asynchronous, best effort,
// after a batch is acked: each sender has read what it sent, DESIGN.md invariant 5). Advances that
// arrive while a call is out are merged and go in the next call, so under load one call (one
// conversation transaction) carries many batches' advances.
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
    // uid and channel (the furthest read_seq wins), and leave as soon as a call returns.
    size_t max_advance_calls = 1;
    // Most advances in one call (the conversation service takes at most its --max_items).
    size_t max_advance_items = 10000;
    // Waiting advances (distinct uid and channel); beyond it new ones are dropped (and counted):
    // the read positions only save the clients a ClearUnread, unread stays exact without them.
    size_t max_pending_advances = 100000;
  };

  // Counters are registered in `registry`.
  ConversationClient(std::shared_ptr<grpc::Channel> channel, Options options,
                     prometheus::Registry& registry);
  // Waits until the waiting advances are sent and their calls ended (each by its deadline).
  ~ConversationClient();
  ConversationClient(const ConversationClient&) = delete;
  ConversationClient& operator=(const ConversationClient&) = delete;

  // One Ensure call for all items; blocks up to the timeout. The gRPC failure comes back with its
  // code, prefixed "conversation service: ".
  absl::Status Ensure(std::vector<im::conversation::v1::EnsureItem> items);

  // Queues the advances and returns at once; they go in an AdvanceReads call now, or when a call
  // in flight returns. Failures are logged and counted.
  void AdvanceReads(std::vector<im::conversation::v1::ReadAdvance> items);

 private:
  struct AdvanceCall;
  // uid, channel type, channel id.
  using AdvanceKey = std::tuple<std::string, int, std::string>;

  // A call with the waiting advances when one may start (the caller starts it outside the lock).
  std::shared_ptr<AdvanceCall> TakeAdvanceCallLocked();
  void StartAdvanceCall(std::shared_ptr<AdvanceCall> call);
  void AdvanceEnded(const grpc::Status& status, size_t items);

  std::unique_ptr<im::conversation::v1::ConversationService::Stub> stub_;
  const Options options_;
  prometheus::Family<prometheus::Counter>& failures_;
  std::mutex mu_;
  std::condition_variable idle_;
  size_t advance_calls_ = 0;
  absl::flat_hash_map<AdvanceKey, im::conversation::v1::ReadAdvance> pending_advances_;
};

}  // namespace im::message
