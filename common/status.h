// The one place where internal errors (absl::Status) become gRPC statuses and back. A status may
// carry protobuf messages as its details (the current value with a FAILED_PRECONDITION, the client
// reason of common/reason_codes.h): inside they are absl::Status payloads, one per type; on the
// wire grpc-status-details-bin holds an im.common.v1.RpcStatus (google.rpc.Status's format) with
// every one of them, and each conversion below carries them all across.
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

// Same code and message; absl and gRPC share the canonical code numbering. The payloads, if any,
// become the details (one Any each, with the payload's type URL and bytes).
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for the result of a call to another service; a non-empty `callee` prefixes the
// message ("sequence service: deadline exceeded") so the caller's error says where it came from,
// except for a status with a client reason (ErrorReason), whose message is written for the client
// and is relayed as it is. Each detail becomes a payload; details that do not parse are dropped.
absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view callee = {});

// Attaches `details` to a non-OK `status` under its type URL (replacing earlier details of that
// type, keeping those of other types); does nothing to an OK status.
void SetDetails(absl::Status& status, const google::protobuf::Message& details);

// Parses the payload of `details`' type into it; false when there is none or it does not parse.
bool GetDetails(const absl::Status& status, google::protobuf::Message* details);

}  // namespace im
