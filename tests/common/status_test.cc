// common/status: a status's details survive absl -> gRPC -> absl as a google.protobuf.Any.
#include "common/status.h"

#include <google/protobuf/any.pb.h>
#include <gtest/gtest.h>

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
  google::protobuf::Any any;
  ASSERT_TRUE(any.ParseFromString(wire.error_details()));
  EXPECT_EQ(any.type_url(), "type.googleapis.com/im.extension.v1.ExtensionValue");
  im::extension::v1::ExtensionValue unpacked;
  ASSERT_TRUE(any.UnpackTo(&unpacked));
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
  const grpc::Status garbage(grpc::StatusCode::INTERNAL, "y", "\xff\xff not an Any");
  EXPECT_EQ(FromGrpcStatus(garbage).code(), absl::StatusCode::kInternal);
  // OK stays OK.
  absl::Status ok;
  SetDetails(ok, value);
  EXPECT_TRUE(ToGrpcStatus(ok).ok());
}

}  // namespace
}  // namespace im
