#include "services/gateway/reason_codes.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"

namespace im::gateway {
namespace {

using im::common::v1::ReasonCode_IsValid;

constexpr char kReasonPayload[] = "type.im/gateway.reason";

}  // namespace

absl::Status WithReason(absl::Status status, ReasonCode reason) {
  status.SetPayload(kReasonPayload, absl::Cord(absl::StrCat(static_cast<int>(reason))));
  return status;
}

ReasonCode ReasonFor(const absl::Status& status) {
  if (status.ok()) return im::common::v1::REASON_CODE_SUCCESS;
  if (absl::optional<absl::Cord> payload = status.GetPayload(kReasonPayload)) {
    int value = 0;
    if (absl::SimpleAtoi(std::string(*payload), &value) && ReasonCode_IsValid(value)) {
      return static_cast<ReasonCode>(value);
    }
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

ReasonCode ChannelAccessReasonFor(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    return im::common::v1::REASON_CODE_NOT_SUBSCRIBER;
  }
  return ReasonFor(status);
}

}  // namespace im::gateway
