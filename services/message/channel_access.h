// Who may read a channel: the one rule for history, heads and read positions. PERSON: one of its
// two uids; GROUP: a subscriber of a live group, or a trusted call without uid.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "im/common/v1/common.pb.h"
#include "services/message/channel_store.h"

namespace im::message {

// The key of `channel` as `uid` addresses it, if `uid` may read it. INVALID_ARGUMENT for a bad
// channel (or an empty uid with a PERSON channel), NOT_FOUND for an unknown or deleted group,
// PERMISSION_DENIED tagged NOT_SUBSCRIBER when uid is not a subscriber; the store's error if the
// check fails.
absl::StatusOr<std::string> ReadableChannelKey(ChannelStore& channels, const std::string& uid,
                                               const im::common::v1::Channel& channel);

}  // namespace im::message
