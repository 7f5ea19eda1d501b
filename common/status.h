// The one place where internal errors (absl::Status) become gRPC statuses. Client reason codes for
// the WebSocket protocol are mapped from the same codes in the gateway. A status may carry one
// protobuf message as its details (e.g. the current value with a FAILED_PRECONDITION): inside it is
// an absl::Status payload, on the wire grpc-status-details-bin holding a serialized
// google.protobuf.Any, and each conversion below carries it across.
//
//   absl::Status s = absl::FailedPreconditionError("version mismatch");
//   SetDetails(s, current_value);
//   ...
//   ExtensionValue current;
//   if (GetDetails(FromGrpcStatus(grpc_status), &current)) ...
#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <string_view>

#include "absl/status/status.h"

namespace im {

// Same code and message; absl and gRPC share the canonical code numbering. The first payload, if
// any, becomes the details (an Any with the payload's type URL and bytes).
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for the result of a call to another service; a non-empty `callee` prefixes the
// message ("sequence service: deadline exceeded") so the caller's error says where it came from.
// Details that parse as an Any become the payload; others are dropped.
absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view callee = {});

// Attaches `details` to a non-OK `status` under its type URL (replacing earlier details of that
// type); does nothing to an OK status.
void SetDetails(absl::Status& status, const google::protobuf::Message& details);

// Parses the payload of `details`' type into it; false when there is none or it does not parse.
bool GetDetails(const absl::Status& status, google::protobuf::Message* details);

}  // namespace im
