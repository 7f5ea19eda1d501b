// The message service's view of the conversation service: Ensure (blocking, before a first person
// message commits and after group members are added) and AdvanceReads (asynchronous, best effort,
// after a batch is acked: each sender has read what it sent, DESIGN.md invariant 5).
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
#include <vector>

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
    // AdvanceReads calls in flight; beyond it a call is dropped (and counted): the read positions
    // only save the clients a ClearUnread, unread stays exact without them.
    size_t max_advance_calls = 64;
  };

  // Counters are registered in `registry`.
  ConversationClient(std::shared_ptr<grpc::Channel> channel, Options options,
                     prometheus::Registry& registry);
  // Waits for the AdvanceReads calls in flight (each ends by its deadline).
  ~ConversationClient();
  ConversationClient(const ConversationClient&) = delete;
  ConversationClient& operator=(const ConversationClient&) = delete;

  // One Ensure call for all items; blocks up to the timeout. The gRPC failure comes back with its
  // code, prefixed "conversation service: ".
  absl::Status Ensure(std::vector<im::conversation::v1::EnsureItem> items);

  // Starts one AdvanceReads call and returns at once; failures are logged and counted.
  void AdvanceReads(std::vector<im::conversation::v1::ReadAdvance> items);

 private:
  struct AdvanceCall;
  void AdvanceEnded(const grpc::Status& status, size_t items);

  std::unique_ptr<im::conversation::v1::ConversationService::Stub> stub_;
  const Options options_;
  prometheus::Family<prometheus::Counter>& failures_;
  std::mutex mu_;
  std::condition_variable idle_;
  size_t advance_calls_ = 0;
};

}  // namespace im::message
