// Channel extension versions from the sequence service (COUNTER_KIND_EXTENSION_VERSION): one
// AllocateBatch call per batch of changes, made while the batch holds its channels' locks.
// Blocking, with a deadline.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "im/sequence/v1/sequence.grpc.pb.h"

namespace im::extension {

class VersionClient {
 public:
  VersionClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout);

  // For each (channel key, count), the first of `count` new consecutive versions. The gRPC
  // failure comes back with its code; nothing the caller learns of was handed out then.
  absl::StatusOr<std::vector<int64_t>> Allocate(
      const std::vector<std::pair<std::string, uint32_t>>& counts);

 private:
  std::unique_ptr<im::sequence::v1::SequenceService::Stub> stub_;
  const absl::Duration timeout_;
};

}  // namespace im::extension
