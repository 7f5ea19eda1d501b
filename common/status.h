// The one place where internal errors (absl::Status) become gRPC statuses. Client reason codes for
// the WebSocket protocol are mapped from the same codes in the gateway.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace im {

// Same code and message; absl and gRPC share the canonical code numbering.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace im
