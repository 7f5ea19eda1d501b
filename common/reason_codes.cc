#include "common/reason_codes.h"

#include "common/status.h"

namespace im {

absl::Status WithReason(absl::Status status, ReasonCode reason) {
  im::common::v1::ErrorReason tag;
  tag.set_reason(reason);
  SetDetails(status, tag);
  return status;
}

ReasonCode ReasonFor(const absl::Status& status) {
  if (status.ok()) return im::common::v1::REASON_CODE_SUCCESS;
  im::common::v1::ErrorReason tag;
  if (GetDetails(status, &tag) && im::common::v1::ReasonCode_IsValid(tag.reason()) &&
      tag.reason() != im::common::v1::REASON_CODE_UNSPECIFIED) {
    return tag.reason();
  }
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
      return im::common::v1::REASON_CODE_AUTH_FAILED;
    case absl::StatusCode::kOutOfRange:
      return im::common::v1::REASON_CODE_TOO_LARGE;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kResourceExhausted:
      return im::common::v1::REASON_CODE_UNAVAILABLE;
    case absl::StatusCode::kDeadlineExceeded:
      return im::common::v1::REASON_CODE_DEADLINE_EXCEEDED;
    case absl::StatusCode::kInvalidArgument:
      return im::common::v1::REASON_CODE_INVALID_ARGUMENT;
    case absl::StatusCode::kNotFound:
      return im::common::v1::REASON_CODE_NOT_FOUND;
    case absl::StatusCode::kAlreadyExists:
      return im::common::v1::REASON_CODE_ALREADY_EXISTS;
    case absl::StatusCode::kPermissionDenied:
      return im::common::v1::REASON_CODE_PERMISSION_DENIED;
    case absl::StatusCode::kFailedPrecondition:
      return im::common::v1::REASON_CODE_FAILED_PRECONDITION;
    default:
      return im::common::v1::REASON_CODE_INTERNAL;
  }
}

ReasonCode ReasonFor(const grpc::Status& status) { return ReasonFor(FromGrpcStatus(status)); }

}  // namespace im
