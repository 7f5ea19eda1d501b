// The one place where failures become client reason codes (im.common.v1.ReasonCode). Internal
// errors are absl::Status values; gRPC failures of calls to other services arrive as grpc::Status.
// A status can carry an explicit reason (WithReason) where its canonical code alone is ambiguous,
// e.g. an expired token (UNAUTHENTICATED, but TOKEN_EXPIRED rather than AUTH_FAILED).
//
//   ack->set_reason(ReasonFor(status));
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "common/status.h"
#include "im/common/v1/common.pb.h"

namespace im::gateway {

using ReasonCode = im::common::v1::ReasonCode;

// `status` tagged with `reason`, which ReasonFor returns instead of the code's default reason.
absl::Status WithReason(absl::Status status, ReasonCode reason);

// SUCCESS for OK; the tagged reason if any; otherwise by canonical code: UNAUTHENTICATED ->
// AUTH_FAILED, OUT_OF_RANGE -> TOO_LARGE, UNAVAILABLE / CANCELLED / ABORTED / RESOURCE_EXHAUSTED
// (a busy dependency) -> UNAVAILABLE, DEADLINE_EXCEEDED, INVALID_ARGUMENT, NOT_FOUND,
// ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION -> the same name, anything else ->
// INTERNAL.
ReasonCode ReasonFor(const absl::Status& status);

// A failure of a call to another service.
ReasonCode ReasonFor(const grpc::Status& status);

// For reading or writing a channel on the user's behalf (send, sync): the message service answers
// PERMISSION_DENIED when the user is not a subscriber, which the client sees as NOT_SUBSCRIBER.
ReasonCode ChannelAccessReasonFor(const grpc::Status& status);

}  // namespace im::gateway
