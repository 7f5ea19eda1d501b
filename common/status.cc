#include "common/status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace im {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view callee) {
  if (status.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  if (callee.empty()) return absl::Status(code, status.error_message());
  return absl::Status(code, absl::StrCat(AbslView(callee), ": ", status.error_message()));
}

}  // namespace im
