#include "services/gateway/reason_codes.h"

#include <gtest/gtest.h>

namespace im::gateway {
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

TEST(ReasonCodesTest, ChannelAccessDeniedIsNotSubscriber) {
  EXPECT_EQ(ChannelAccessReasonFor(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no")),
            REASON_CODE_NOT_SUBSCRIBER);
  EXPECT_EQ(ChannelAccessReasonFor(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad")),
            REASON_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(ChannelAccessReasonFor(grpc::Status::OK), REASON_CODE_SUCCESS);
}

TEST(ReasonCodesTest, GrpcStatusKeepsCodeAndMessage) {
  const absl::Status status = FromGrpcStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "gone"));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "gone");
}

}  // namespace
}  // namespace im::gateway
