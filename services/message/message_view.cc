#include "services/message/message_view.h"

#include <string>

#include "common/channel_key.h"

namespace im::message {

im::common::v1::Channel ChannelAddressedBy(std::string_view channel_key,
                                           std::string_view from_uid) {
  im::common::v1::Channel channel;
  std::string low, high;
  if (ParsePersonKey(channel_key, &low, &high)) {
    channel.set_type(im::common::v1::CHANNEL_TYPE_PERSON);
    channel.set_id(from_uid == low ? high : low);
  } else if (std::string group_id; ParseGroupKey(channel_key, &group_id)) {
    channel.set_type(im::common::v1::CHANNEL_TYPE_GROUP);
    channel.set_id(group_id);
  }
  return channel;
}

im::common::v1::Message ToMessage(const StoredMessage& stored, std::string_view viewer_uid) {
  im::common::v1::Message message;
  message.set_message_id(stored.message_id);
  message.set_message_seq(stored.seq);
  *message.mutable_channel() = ChannelAsSeenBy(
      ChannelAddressedBy(stored.channel_key, stored.from_uid), stored.from_uid, viewer_uid);
  message.set_from_uid(stored.from_uid);
  message.set_client_msg_no(stored.client_msg_no);
  message.set_timestamp(stored.created_ms);
  message.set_payload(stored.payload);
  message.mutable_flags()->set_red_dot(stored.red_dot);
  message.set_red_dot_ordinal(stored.red_dot_ordinal);
  return message;
}

}  // namespace im::message
