// How uids and channels are named, validated and keyed, in one place for every service. A PERSON
// channel is addressed by the peer's uid from each side (see im.common.v1.Channel); its key is the
// same from both sides, so both directions of a chat share one seq space and one history.
//
//   auto key = ChannelKeyFor(uid, request.channel());   // "p:alice:bob" or "g:team-1"
//   Channel seen_by_bob = ChannelAsSeenBy(message.channel(), message.from_uid(), "bob");
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "im/common/v1/common.pb.h"

namespace im {

// The longest uid, group id or device id accepted.
inline constexpr size_t kMaxIdBytes = 64;

// A uid or group id is 1..64 bytes of [A-Za-z0-9_.@-]: enough for numeric ids, UUIDs and e-mail
// addresses, and free of the ':' that separates key parts. INVALID_ARGUMENT names `what` otherwise.
absl::Status ValidateId(std::string_view id, std::string_view what);

// A device's own flag: APP, WEB or DESKTOP (UNSPECIFIED is not a device). INVALID_ARGUMENT
// otherwise.
absl::Status ValidateDeviceFlag(int flag);

// The key of `channel` as `viewer_uid` addresses it: "p:<lower uid>:<higher uid>" for PERSON,
// "g:<group id>" for GROUP. INVALID_ARGUMENT for an unknown type, a bad id, or a PERSON channel
// with oneself.
absl::StatusOr<std::string> ChannelKeyFor(std::string_view viewer_uid,
                                          const im::common::v1::Channel& channel);

// The key of a group channel (no viewer needed); INVALID_ARGUMENT for a bad id.
absl::StatusOr<std::string> GroupChannelKey(std::string_view group_id);

// The two uids of a PERSON key, or the group id of a GROUP key; false for anything else.
bool ParsePersonKey(std::string_view key, std::string* low_uid, std::string* high_uid);
bool ParseGroupKey(std::string_view key, std::string* group_id);

// The channel of `channel_key` as `viewer_uid` sees it: the peer for a PERSON key, the group for
// a GROUP key; an unset channel for a key that is neither.
im::common::v1::Channel ChannelOfKey(std::string_view channel_key, std::string_view viewer_uid);

// `channel` was addressed by `from_uid`; returns it as `viewer_uid` sees it. For PERSON channels
// the sender sees the peer and everyone else (the peer) sees the sender; GROUP channels look the
// same to all.
im::common::v1::Channel ChannelAsSeenBy(const im::common::v1::Channel& channel,
                                        std::string_view from_uid, std::string_view viewer_uid);

// Which of `count` shards or lanes a channel's work goes to. The gateway's Send batcher and the
// message service's lanes both use it, so with equal counts (both default to 2) one of the
// gateway's Send calls lands on one lane and waits for that lane alone, not for the slowest of
// all. It depends only on the key (never on a per-process hash seed), so separate processes agree.
size_t LaneOfChannel(std::string_view channel_key, size_t count);

}  // namespace im
