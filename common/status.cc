#include "common/status.h"

#include <google/protobuf/any.pb.h>

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace im {
namespace {

std::string TypeUrlOf(const google::protobuf::Message& message) {
  return absl::StrCat("type.googleapis.com/", message.GetDescriptor()->full_name());
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::optional<google::protobuf::Any> details;
  status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
    if (details.has_value()) return;
    details.emplace();
    details->set_type_url(std::string(type_url));
    details->set_value(std::string(payload));
  });
  if (!details.has_value()) return grpc::Status(code, std::string(status.message()));
  return grpc::Status(code, std::string(status.message()), details->SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view callee) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  absl::Status out =
      callee.empty()
          ? absl::Status(code, status.error_message())
          : absl::Status(code, absl::StrCat(AbslView(callee), ": ", status.error_message()));
  google::protobuf::Any details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details()) &&
      !details.type_url().empty()) {
    out.SetPayload(details.type_url(), absl::Cord(details.value()));
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
