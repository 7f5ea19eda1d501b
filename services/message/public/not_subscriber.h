// The one refusal of a uid that is not a subscriber of a group, the same from every service that
// checks membership (the message service's reads, its send path, the extension service):
// PERMISSION_DENIED for gRPC callers, tagged NOT_SUBSCRIBER for clients, in words that name the
// group as the user sees it.
//
//   if (!member) return NotSubscriberError(uid, group_id);
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/reason_codes.h"
#include "common/string_view.h"

namespace im {

inline absl::Status NotSubscriberError(std::string_view uid, std::string_view group_id) {
  return WithReason(absl::PermissionDeniedError(absl::StrCat(
                        AbslView(uid), " is not a subscriber of group ", AbslView(group_id))),
                    im::common::v1::REASON_CODE_NOT_SUBSCRIBER);
}

}  // namespace im
