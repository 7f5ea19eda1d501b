// Turns MessageService.Notify items (extension changes, seq updates) into fan-out items, with the
// request checks. Pure translation: no I/O, safe on a gRPC thread.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "im/message/v1/message.pb.h"
#include "services/message/fanout_item.h"

namespace im::message {

// INVALID_ARGUMENT names the first bad item: no body, bad uids, or no recipients (a PERSON
// channel without uids needs exclude_device.uid as the party that addresses it).
absl::StatusOr<std::vector<FanoutItem>> ToFanoutItems(const im::message::v1::NotifyRequest& request,
                                                      size_t max_uids);

}  // namespace im::message
