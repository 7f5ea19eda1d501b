// The one place where failures become client reason codes (im.common.v1.ReasonCode): the gateway's
// answers, per-item results of batch calls, per-entry results of listed reads. Internal errors are
// absl::Status values; failures of calls to other services arrive as grpc::Status. A status can
// carry an explicit reason (WithReason) where its canonical code alone is ambiguous, e.g. an
// expired token (UNAUTHENTICATED, but TOKEN_EXPIRED rather than AUTH_FAILED) or a uid that is not
// a subscriber (PERMISSION_DENIED, but NOT_SUBSCRIBER). The reason is one of the status's details
// (im.common.v1.ErrorReason), so it crosses gRPC with it (common/status.h) and survives relays.
//
//   return WithReason(absl::PermissionDeniedError("..."), REASON_CODE_NOT_SUBSCRIBER);
//   ...
//   ack->set_reason(ReasonFor(status));
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "im/common/v1/common.pb.h"

namespace im {

using ReasonCode = im::common::v1::ReasonCode;

// `status` tagged with `reason`, which ReasonFor returns instead of the code's default reason;
// an OK status stays untagged.
absl::Status WithReason(absl::Status status, ReasonCode reason);

// SUCCESS for OK; the tagged reason if any; otherwise by canonical code: UNAUTHENTICATED ->
// AUTH_FAILED, OUT_OF_RANGE -> TOO_LARGE, UNAVAILABLE / CANCELLED / ABORTED / RESOURCE_EXHAUSTED
// (a busy dependency) -> UNAVAILABLE, DEADLINE_EXCEEDED, INVALID_ARGUMENT, NOT_FOUND,
// ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION -> the same name, anything else ->
// INTERNAL.
ReasonCode ReasonFor(const absl::Status& status);

// A failure of a call to another service, with the reason it carries.
ReasonCode ReasonFor(const grpc::Status& status);

}  // namespace im
