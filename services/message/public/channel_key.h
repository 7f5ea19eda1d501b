// How uids and channels are named, validated and keyed, in one place for every service. A PERSON
// channel is addressed by the peer's uid from each side (see im.common.v1.Channel); its key is the
// same from both sides, so both directions of a chat share one seq space and one history.
//
//   auto key = ChannelKey::For(uid, request.channel());   // "p:alice:bob" or "g:team-1"
//   Channel seen_by_bob = ChannelAsSeenBy(message.channel(), message.from_uid(), "bob");
#pragma once

#include <string>
#include <string_view>
#include <utility>

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

// A channel's key: "p:<lower uid>:<higher uid>" for PERSON, "g:<group id>" for GROUP, the same
// from both sides of a chat. Made only by For and Group from a request's channel, or by Parse from
// a key read back from storage or another service, so holding one means it is well-formed: pass
// it along instead of a string, and ask it for its parts instead of re-parsing.
//
//   absl::StatusOr<ChannelKey> key = ChannelKey::For("bob", request.channel());
//   if (key->is_person()) Notify(key->low_uid(), key->high_uid());
//   store.Insert(key->str(), ...);
class ChannelKey {
 public:
  // The key of `channel` as `viewer_uid` addresses it. INVALID_ARGUMENT for an unknown type, a
  // bad id, or a PERSON channel with oneself.
  static absl::StatusOr<ChannelKey> For(std::string_view viewer_uid,
                                        const im::common::v1::Channel& channel);
  // The key of a group; INVALID_ARGUMENT for a bad id.
  static absl::StatusOr<ChannelKey> Group(std::string_view group_id);
  // `key` as a value; INVALID_ARGUMENT when it is not a well-formed key.
  static absl::StatusOr<ChannelKey> Parse(std::string_view key);

  // The empty key, for a field filled in once a key is known: neither PERSON nor GROUP, no parts.
  ChannelKey() = default;

  const std::string& str() const { return key_; }
  bool empty() const { return key_.empty(); }
  bool is_person() const { return split_ != 0; }
  bool is_group() const { return split_ == 0 && !key_.empty(); }
  // GROUP: the group id; PERSON: empty.
  std::string_view group_id() const;
  // PERSON: the two uids, the lower first; GROUP: empty.
  std::string_view low_uid() const;
  std::string_view high_uid() const;

  // The channel as `viewer_uid` sees it: the other uid for PERSON, the group for GROUP.
  im::common::v1::Channel AsSeenBy(std::string_view viewer_uid) const;

  // Which of `count` shards or lanes the channel's work goes to. It depends only on the key
  // (never on a per-process hash seed), so separate processes agree.
  size_t Lane(size_t count) const;

  friend bool operator==(const ChannelKey& a, const ChannelKey& b) { return a.key_ == b.key_; }
  friend bool operator!=(const ChannelKey& a, const ChannelKey& b) { return a.key_ != b.key_; }
  friend bool operator<(const ChannelKey& a, const ChannelKey& b) { return a.key_ < b.key_; }
  template <typename H>
  friend H AbslHashValue(H h, const ChannelKey& key) {
    return H::combine(std::move(h), key.key_);
  }

 private:
  ChannelKey(std::string key, size_t split) : key_(std::move(key)), split_(split) {}

  std::string key_;
  // PERSON: where the ':' between the two uids is; GROUP: 0.
  size_t split_ = 0;
};

// `channel` was addressed by `from_uid`; returns it as `viewer_uid` sees it. For PERSON channels
// the sender sees the peer and everyone else (the peer) sees the sender; GROUP channels look the
// same to all.
im::common::v1::Channel ChannelAsSeenBy(const im::common::v1::Channel& channel,
                                        std::string_view from_uid, std::string_view viewer_uid);

// How a message to a user names `channel`: "person <uid>" or "group <id>", never the key's
// internal form.
std::string DescribeChannel(const im::common::v1::Channel& channel);

// The channel of a stored key as `viewer_uid` sees it (ChannelKey::Parse, then AsSeenBy); an unset
// channel for a string that is not a key.
im::common::v1::Channel ChannelOfKey(std::string_view channel_key, std::string_view viewer_uid);

// The lane of any string (ChannelKey::Lane is this of its key), for work queued by a value that
// is not always a channel key, e.g. a notification addressed to uids only.
size_t LaneOfChannel(std::string_view channel_key, size_t count);

}  // namespace im
