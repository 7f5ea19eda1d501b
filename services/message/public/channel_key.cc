#include "services/message/public/channel_key.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace im {
namespace {

using im::common::v1::Channel;

bool IdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '@' || c == '-';
}

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (char c : id) {
    if (!IdChar(c)) return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateId(std::string_view id, std::string_view what) {
  if (ValidId(id)) return absl::OkStatus();
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " is empty"));
  if (id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(what), " is longer than ", kMaxIdBytes, " bytes"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(AbslView(what), " may contain only letters, digits and _ . @ -"));
}

absl::StatusOr<ChannelKey> ChannelKey::For(std::string_view viewer_uid, const Channel& channel) {
  switch (channel.type()) {
    case im::common::v1::CHANNEL_TYPE_PERSON: {
      if (absl::Status s = ValidateId(viewer_uid, "uid"); !s.ok()) return s;
      if (absl::Status s = ValidateId(channel.id(), "channel id"); !s.ok()) return s;
      if (channel.id() == viewer_uid) {
        return absl::InvalidArgumentError("a person channel needs two different uids");
      }
      std::string_view low = viewer_uid, high = channel.id();
      if (high < low) std::swap(low, high);
      return ChannelKey(absl::StrCat("p:", AbslView(low), ":", AbslView(high)), 2 + low.size());
    }
    case im::common::v1::CHANNEL_TYPE_GROUP:
      return Group(channel.id());
    default:
      return absl::InvalidArgumentError(absl::StrCat("channel type must be PERSON or GROUP, not ",
                                                     static_cast<int>(channel.type())));
  }
}

absl::StatusOr<ChannelKey> ChannelKey::Group(std::string_view group_id) {
  if (absl::Status s = ValidateId(group_id, "group id"); !s.ok()) return s;
  return ChannelKey(absl::StrCat("g:", AbslView(group_id)), 0);
}

absl::StatusOr<ChannelKey> ChannelKey::Parse(std::string_view key) {
  const std::string_view rest = key.substr(std::min<size_t>(2, key.size()));
  if (key.substr(0, 2) == "g:" && ValidId(rest)) return ChannelKey(std::string(key), 0);
  if (key.substr(0, 2) == "p:") {
    const size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view low = rest.substr(0, colon), high = rest.substr(colon + 1);
      if (ValidId(low) && ValidId(high) && low < high) {
        return ChannelKey(std::string(key), 2 + colon);
      }
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not a channel key: \"", AbslView(key.substr(0, 2 * kMaxIdBytes + 3)), "\""));
}

std::string_view ChannelKey::group_id() const {
  return is_group() ? std::string_view(key_).substr(2) : std::string_view();
}

std::string_view ChannelKey::low_uid() const {
  return is_person() ? std::string_view(key_).substr(2, split_ - 2) : std::string_view();
}

std::string_view ChannelKey::high_uid() const {
  return is_person() ? std::string_view(key_).substr(split_ + 1) : std::string_view();
}

Channel ChannelKey::AsSeenBy(std::string_view viewer_uid) const {
  Channel channel;
  if (is_person()) {
    channel.set_type(im::common::v1::CHANNEL_TYPE_PERSON);
    channel.set_id(std::string(viewer_uid == low_uid() ? high_uid() : low_uid()));
  } else {
    channel.set_type(im::common::v1::CHANNEL_TYPE_GROUP);
    channel.set_id(std::string(group_id()));
  }
  return channel;
}

size_t ChannelKey::Lane(size_t count) const { return LaneOfChannel(key_, count); }

absl::Status ValidateDeviceFlag(int flag) {
  if (flag == im::common::v1::DEVICE_FLAG_UNSPECIFIED ||
      !im::common::v1::DeviceFlag_IsValid(flag)) {
    return absl::InvalidArgumentError(
        absl::StrCat("device_flag must be APP, WEB or DESKTOP, not ", flag));
  }
  return absl::OkStatus();
}

Channel ChannelAsSeenBy(const Channel& channel, std::string_view from_uid,
                        std::string_view viewer_uid) {
  if (channel.type() != im::common::v1::CHANNEL_TYPE_PERSON || viewer_uid == from_uid) {
    return channel;
  }
  Channel seen;
  seen.set_type(channel.type());
  seen.set_id(std::string(from_uid));
  return seen;
}

std::string DescribeChannel(const Channel& channel) {
  const char* type = channel.type() == im::common::v1::CHANNEL_TYPE_PERSON  ? "person "
                     : channel.type() == im::common::v1::CHANNEL_TYPE_GROUP ? "group "
                                                                            : "channel ";
  return absl::StrCat(type, channel.id());
}

Channel ChannelOfKey(std::string_view channel_key, std::string_view viewer_uid) {
  absl::StatusOr<ChannelKey> parsed = ChannelKey::Parse(channel_key);
  return parsed.ok() ? parsed->AsSeenBy(viewer_uid) : Channel();
}

size_t LaneOfChannel(std::string_view channel_key, size_t count) {
  return std::hash<std::string_view>()(channel_key) % count;
}

}  // namespace im
