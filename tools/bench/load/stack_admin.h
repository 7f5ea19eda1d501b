// What a load run asks of the business-server API before its clients connect: tokens for its users
// (UserService.SetToken on the gateway) and its groups (ChannelService.CreateGroup on the message
// service).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace im::load {

// Registers `token` for every uid (APP devices, no expiry), `threads` calls at a time; the first
// failure.
absl::Status SetTokens(const std::string& gateway_addr, const std::vector<std::string>& uids,
                       const std::string& token, int threads);

// Creates group `group_id` with `members` as subscribers (several calls when it is large).
absl::Status CreateGroup(const std::string& message_addr, const std::string& group_id,
                         const std::vector<std::string>& members);

}  // namespace im::load
