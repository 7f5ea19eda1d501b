#include "services/message/channel_access.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "services/message/public/channel_key.h"
#include "services/message/public/not_subscriber.h"

namespace im::message {

absl::StatusOr<std::string> ReadableChannelKey(ChannelStore& channels, const std::string& uid,
                                               const im::common::v1::Channel& channel) {
  if (uid.empty() && channel.type() != im::common::v1::CHANNEL_TYPE_GROUP) {
    return absl::InvalidArgumentError("uid is required to read a person channel");
  }
  absl::StatusOr<ChannelKey> key =
      uid.empty() ? ChannelKey::Group(channel.id()) : ChannelKey::For(uid, channel);
  if (!key.ok()) return key.status();
  if (key->is_person()) return key->str();
  absl::StatusOr<std::vector<GroupAccess>> access = channels.CheckAccess({channel.id()}, {uid});
  if (!access.ok()) return access.status();
  switch ((*access)[0]) {
    case GroupAccess::kNoGroup:
      return absl::NotFoundError(absl::StrCat("group ", channel.id(), " does not exist"));
    case GroupAccess::kNotSubscriber:
      if (!uid.empty()) {
        return NotSubscriberError(uid, channel.id());
      }
      break;
    case GroupAccess::kSubscriber:
      break;
  }
  return key->str();
}

}  // namespace im::message
