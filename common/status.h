// The one place where internal errors (absl::Status) become gRPC statuses. Client reason codes for
// the WebSocket protocol are mapped from the same codes in the gateway.
#pragma once

#include <grpcpp/support/status.h>

#include <string_view>

#include "absl/status/status.h"

namespace im {

// Same code and message; absl and gRPC share the canonical code numbering.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for the result of a call to another service; a non-empty `callee` prefixes the
// message ("sequence service: deadline exceeded") so the caller's error says where it came from.
absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view callee = {});

}  // namespace im
