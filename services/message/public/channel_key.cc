#include "services/message/public/channel_key.h"

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

absl::StatusOr<std::string> ChannelKeyFor(std::string_view viewer_uid, const Channel& channel) {
  switch (channel.type()) {
    case im::common::v1::CHANNEL_TYPE_PERSON: {
      if (absl::Status s = ValidateId(viewer_uid, "uid"); !s.ok()) return s;
      if (absl::Status s = ValidateId(channel.id(), "channel id"); !s.ok()) return s;
      if (channel.id() == viewer_uid) {
        return absl::InvalidArgumentError("a person channel needs two different uids");
      }
      std::string_view low = viewer_uid, high = channel.id();
      if (high < low) std::swap(low, high);
      return absl::StrCat("p:", AbslView(low), ":", AbslView(high));
    }
    case im::common::v1::CHANNEL_TYPE_GROUP: {
      return GroupChannelKey(channel.id());
    }
    default:
      return absl::InvalidArgumentError("channel type must be PERSON or GROUP");
  }
}

absl::StatusOr<std::string> GroupChannelKey(std::string_view group_id) {
  if (absl::Status s = ValidateId(group_id, "group id"); !s.ok()) return s;
  return absl::StrCat("g:", AbslView(group_id));
}

bool ParsePersonKey(std::string_view key, std::string* low_uid, std::string* high_uid) {
  if (key.substr(0, 2) != "p:") return false;
  const std::string_view uids = key.substr(2);
  const size_t colon = uids.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view low = uids.substr(0, colon), high = uids.substr(colon + 1);
  if (!ValidId(low) || !ValidId(high) || !(low < high)) return false;
  low_uid->assign(low);
  high_uid->assign(high);
  return true;
}

bool ParseGroupKey(std::string_view key, std::string* group_id) {
  if (key.substr(0, 2) != "g:" || !ValidId(key.substr(2))) return false;
  group_id->assign(key.substr(2));
  return true;
}

absl::Status ValidateDeviceFlag(int flag) {
  if (flag == im::common::v1::DEVICE_FLAG_UNSPECIFIED ||
      !im::common::v1::DeviceFlag_IsValid(flag)) {
    return absl::InvalidArgumentError("device_flag must be APP, WEB or DESKTOP");
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

Channel ChannelOfKey(std::string_view channel_key, std::string_view viewer_uid) {
  Channel channel;
  std::string low, high, group_id;
  if (ParsePersonKey(channel_key, &low, &high)) {
    channel.set_type(im::common::v1::CHANNEL_TYPE_PERSON);
    channel.set_id(viewer_uid == low ? high : low);
  } else if (ParseGroupKey(channel_key, &group_id)) {
    channel.set_type(im::common::v1::CHANNEL_TYPE_GROUP);
    channel.set_id(group_id);
  }
  return channel;
}

size_t LaneOfChannel(std::string_view channel_key, size_t count) {
  return std::hash<std::string_view>()(channel_key) % count;
}

}  // namespace im
