// common/reason_codes: the one mapping of statuses to client reason codes, and a tagged reason
// (ErrorReason) that crosses gRPC and relays through another service unchanged.
#include "common/reason_codes.h"

#include <gtest/gtest.h>

#include "common/status.h"
#include "im/extension/v1/extension.pb.h"

namespace im {
namespace {

using namespace im::common::v1;

TEST(ReasonCodesTest, MapsCanonicalCodes) {
  EXPECT_EQ(ReasonFor(absl::OkStatus()), REASON_CODE_SUCCESS);
  EXPECT_EQ(ReasonFor(absl::UnauthenticatedError("x")), REASON_CODE_AUTH_FAILED);
  EXPECT_EQ(ReasonFor(absl::OutOfRangeError("x")), REASON_CODE_TOO_LARGE);
  EXPECT_EQ(ReasonFor(absl::UnavailableError("x")), REASON_CODE_UNAVAILABLE);
  EXPECT_EQ(ReasonFor(absl::ResourceExhaustedError("x")), REASON_CODE_UNAVAILABLE);
  EXPECT_EQ(ReasonFor(absl::CancelledError("x")), REASON_CODE_UNAVAILABLE);
  EXPECT_EQ(ReasonFor(absl::AbortedError("x")), REASON_CODE_UNAVAILABLE);
  EXPECT_EQ(ReasonFor(absl::DeadlineExceededError("x")), REASON_CODE_DEADLINE_EXCEEDED);
  EXPECT_EQ(ReasonFor(absl::InvalidArgumentError("x")), REASON_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(ReasonFor(absl::NotFoundError("x")), REASON_CODE_NOT_FOUND);
  EXPECT_EQ(ReasonFor(absl::AlreadyExistsError("x")), REASON_CODE_ALREADY_EXISTS);
  EXPECT_EQ(ReasonFor(absl::PermissionDeniedError("x")), REASON_CODE_PERMISSION_DENIED);
  EXPECT_EQ(ReasonFor(absl::FailedPreconditionError("x")), REASON_CODE_FAILED_PRECONDITION);
  EXPECT_EQ(ReasonFor(absl::InternalError("x")), REASON_CODE_INTERNAL);
  EXPECT_EQ(ReasonFor(absl::UnknownError("x")), REASON_CODE_INTERNAL);
  EXPECT_EQ(ReasonFor(absl::DataLossError("x")), REASON_CODE_INTERNAL);
}

TEST(ReasonCodesTest, ATaggedReasonWins) {
  const absl::Status expired =
      WithReason(absl::UnauthenticatedError("expired"), REASON_CODE_TOKEN_EXPIRED);
  EXPECT_EQ(ReasonFor(expired), REASON_CODE_TOKEN_EXPIRED);
  EXPECT_EQ(expired.message(), "expired");
  EXPECT_TRUE(WithReason(absl::OkStatus(), REASON_CODE_NOT_SUBSCRIBER).ok());
}

TEST(ReasonCodesTest, MapsGrpcFailuresOfOtherServices) {
  EXPECT_EQ(ReasonFor(grpc::Status::OK), REASON_CODE_SUCCESS);
  EXPECT_EQ(ReasonFor(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")),
            REASON_CODE_UNAVAILABLE);
  EXPECT_EQ(ReasonFor(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "slow")),
            REASON_CODE_DEADLINE_EXCEEDED);
  EXPECT_EQ(ReasonFor(grpc::Status(grpc::StatusCode::INTERNAL, "bug")), REASON_CODE_INTERNAL);
  EXPECT_EQ(ReasonFor(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no")),
            REASON_CODE_PERMISSION_DENIED);
}

// The message service refuses a non-subscriber; the conversation service relays that failure of
// its call; the gateway answers the client: NOT_SUBSCRIBER and the message service's own words
// at the end, a PERMISSION_DENIED for gRPC callers at every step.
TEST(ReasonCodesTest, ATaggedReasonSurvivesARelayThroughAnotherService) {
  const absl::Status refused =
      WithReason(absl::PermissionDeniedError("alice is not a subscriber of group team"),
                 REASON_CODE_NOT_SUBSCRIBER);
  const absl::Status relayed = FromGrpcStatus(ToGrpcStatus(refused), "message service");
  const grpc::Status answered = ToGrpcStatus(relayed);
  EXPECT_EQ(answered.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReasonFor(answered), REASON_CODE_NOT_SUBSCRIBER);
  EXPECT_EQ(answered.error_message(), "alice is not a subscriber of group team")
      << "a message written for the client gets no callee prefix";

  // Without a reason the relay says where the failure came from.
  const absl::Status untagged =
      FromGrpcStatus(ToGrpcStatus(absl::UnavailableError("down")), "message service");
  EXPECT_EQ(untagged.message(), "message service: down");
  EXPECT_EQ(ReasonFor(untagged), REASON_CODE_UNAVAILABLE);
}

// A status with a reason and other details (a compare-and-set's current value) keeps both.
TEST(ReasonCodesTest, AReasonTravelsBesideOtherDetails) {
  im::extension::v1::ExtensionValue current;
  current.set_message_id(42);
  current.set_version(7);
  absl::Status status = absl::FailedPreconditionError("version mismatch");
  SetDetails(status, current);
  status = WithReason(status, REASON_CODE_NOT_SUBSCRIBER);

  const absl::Status back = FromGrpcStatus(ToGrpcStatus(status), "extension service");
  EXPECT_EQ(ReasonFor(back), REASON_CODE_NOT_SUBSCRIBER);
  im::extension::v1::ExtensionValue got;
  ASSERT_TRUE(GetDetails(back, &got));
  EXPECT_EQ(got.message_id(), 42u);
  EXPECT_EQ(got.version(), 7);
}

TEST(ReasonCodesTest, AnUnknownOrUnspecifiedTagFallsBackToTheCode) {
  ErrorReason unknown;
  unknown.set_reason(static_cast<ReasonCode>(999));
  absl::Status status = absl::NotFoundError("x");
  SetDetails(status, unknown);
  EXPECT_EQ(ReasonFor(status), REASON_CODE_NOT_FOUND);
  EXPECT_EQ(ReasonFor(WithReason(absl::NotFoundError("x"), REASON_CODE_UNSPECIFIED)),
            REASON_CODE_NOT_FOUND);
}

}  // namespace
}  // namespace im
