// The message service's view of the sequence service: seq ranges for a batch of channels in one
// AllocateBatch call. Blocking, with a deadline; called from the send lanes' own threads.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "im/sequence/v1/sequence.grpc.pb.h"

namespace im::message {

struct SeqRequest {
  std::string channel_key;
  im::sequence::v1::CounterKind kind = im::sequence::v1::COUNTER_KIND_MESSAGE_SEQ;
  uint32_t count = 0;
};

// The first value of each requested range (the range is first..first+count-1).
class SequenceClient {
 public:
  SequenceClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout);

  // One AllocateBatch call. The gRPC failure comes back with its code (UNAVAILABLE,
  // DEADLINE_EXCEEDED, ...); nothing was handed out that the caller will learn of.
  absl::StatusOr<std::vector<int64_t>> Allocate(const std::vector<SeqRequest>& requests);

 private:
  std::unique_ptr<im::sequence::v1::SequenceService::Stub> stub_;
  const absl::Duration timeout_;
};

}  // namespace im::message
