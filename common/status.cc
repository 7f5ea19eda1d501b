#include "common/status.h"

#include <google/protobuf/any.pb.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/string_view.h"
#include "im/common/v1/common.pb.h"

namespace im {
namespace {

std::string TypeUrlOf(const google::protobuf::Message& message) {
  return absl::StrCat("type.googleapis.com/", message.GetDescriptor()->full_name());
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  im::common::v1::RpcStatus details;
  status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
    google::protobuf::Any* any = details.add_details();
    any->set_type_url(std::string(type_url));
    any->set_value(std::string(payload));
  });
  if (details.details().empty()) return grpc::Status(code, std::string(status.message()));
  details.set_code(static_cast<int32_t>(code));
  details.set_message(std::string(status.message()));
  return grpc::Status(code, std::string(status.message()), details.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view callee) {
  if (status.ok()) return absl::OkStatus();
  im::common::v1::RpcStatus details;
  if (!details.ParseFromString(status.error_details())) details.Clear();
  const std::string reason_url = TypeUrlOf(im::common::v1::ErrorReason());
  const bool for_client =
      std::any_of(details.details().begin(), details.details().end(),
                  [&](const google::protobuf::Any& any) { return any.type_url() == reason_url; });
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()),
                   callee.empty() || for_client
                       ? status.error_message()
                       : absl::StrCat(AbslView(callee), ": ", status.error_message()));
  for (const google::protobuf::Any& any : details.details()) {
    if (!any.type_url().empty()) out.SetPayload(any.type_url(), absl::Cord(any.value()));
  }
  return out;
}

void SetDetails(absl::Status& status, const google::protobuf::Message& details) {
  if (status.ok()) return;
  status.SetPayload(TypeUrlOf(details), absl::Cord(details.SerializeAsString()));
}

bool GetDetails(const absl::Status& status, google::protobuf::Message* details) {
  const auto payload = status.GetPayload(TypeUrlOf(*details));
  return payload.has_value() && details->ParseFromString(std::string(*payload));
}

}  // namespace im
