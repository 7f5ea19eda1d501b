// common/status: a status's details survive absl -> gRPC -> absl, all of them, in an RpcStatus
// (google.rpc.Status's wire format) of one google.protobuf.Any per detail.
#include "common/status.h"

#include <google/protobuf/any.pb.h>
#include <gtest/gtest.h>

#include "im/common/v1/common.pb.h"
#include "im/extension/v1/extension.pb.h"

namespace im {
namespace {

TEST(StatusDetails, RoundTripThroughGrpc) {
  im::extension::v1::ExtensionValue value;
  value.set_message_id(42);
  value.set_version(7);
  value.set_ext(R"({"a":1})");
  absl::Status status = absl::FailedPreconditionError("version mismatch");
  SetDetails(status, value);

  const grpc::Status wire = ToGrpcStatus(status);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(wire.error_message(), "version mismatch");
  im::common::v1::RpcStatus details;
  ASSERT_TRUE(details.ParseFromString(wire.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(details.message(), "version mismatch");
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_EQ(details.details(0).type_url(), "type.googleapis.com/im.extension.v1.ExtensionValue");
  im::extension::v1::ExtensionValue unpacked;
  ASSERT_TRUE(details.details(0).UnpackTo(&unpacked));
  EXPECT_EQ(unpacked.version(), 7);

  const absl::Status back = FromGrpcStatus(wire, "extension service");
  EXPECT_EQ(back.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(back.message(), "extension service: version mismatch");
  im::extension::v1::ExtensionValue got;
  ASSERT_TRUE(GetDetails(back, &got));
  EXPECT_EQ(got.message_id(), 42u);
  EXPECT_EQ(got.version(), 7);
  EXPECT_EQ(got.ext(), R"({"a":1})");
}

// Details of different types travel together; one of the same type replaces the earlier one.
TEST(StatusDetails, EveryDetailCrossesGrpc) {
  im::extension::v1::ExtensionValue value;
  value.set_version(7);
  im::extension::v1::SetResponse response;
  response.set_applied(true);
  absl::Status status = absl::FailedPreconditionError("both");
  SetDetails(status, value);
  SetDetails(status, response);
  value.set_version(8);
  SetDetails(status, value);

  const grpc::Status wire = ToGrpcStatus(status);
  im::common::v1::RpcStatus details;
  ASSERT_TRUE(details.ParseFromString(wire.error_details()));
  EXPECT_EQ(details.details_size(), 2);
  const absl::Status back = FromGrpcStatus(wire, "extension service");
  im::extension::v1::ExtensionValue got_value;
  ASSERT_TRUE(GetDetails(back, &got_value));
  EXPECT_EQ(got_value.version(), 8);
  im::extension::v1::SetResponse got_response;
  ASSERT_TRUE(GetDetails(back, &got_response));
  EXPECT_TRUE(got_response.applied());
}

TEST(StatusDetails, AbsentOrForeignDetails) {
  const grpc::Status plain = ToGrpcStatus(absl::NotFoundError("no"));
  EXPECT_TRUE(plain.error_details().empty());
  im::extension::v1::ExtensionValue value;
  EXPECT_FALSE(GetDetails(FromGrpcStatus(plain), &value));
  // Details of another type are kept but do not parse as this one.
  absl::Status status = absl::AbortedError("x");
  SetDetails(status, im::extension::v1::SetResponse());
  EXPECT_FALSE(GetDetails(FromGrpcStatus(ToGrpcStatus(status)), &value));
  // Garbage details are dropped rather than failing.
  const grpc::Status garbage(grpc::StatusCode::INTERNAL, "y", "\xff\xff not an RpcStatus");
  EXPECT_EQ(FromGrpcStatus(garbage).code(), absl::StatusCode::kInternal);
  // OK stays OK.
  absl::Status ok;
  SetDetails(ok, value);
  EXPECT_TRUE(ToGrpcStatus(ok).ok());
}

}  // namespace
}  // namespace im
