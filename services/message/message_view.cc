#include "services/message/message_view.h"

#include "services/message/public/channel_key.h"

namespace im::message {

im::common::v1::Message ToMessage(const StoredMessage& stored, std::string_view viewer_uid) {
  im::common::v1::Message message;
  message.set_message_id(stored.message_id);
  message.set_message_seq(stored.seq);
  *message.mutable_channel() = ChannelOfKey(stored.channel_key, viewer_uid);
  message.set_from_uid(stored.from_uid);
  message.set_client_msg_no(stored.client_msg_no);
  message.set_timestamp(stored.created_ms);
  message.set_payload(stored.payload);
  message.mutable_flags()->set_red_dot(stored.red_dot);
  message.set_red_dot_ordinal(stored.red_dot_ordinal);
  return message;
}

im::common::v1::Message CmdToMessage(const StoredCmd& cmd, std::string_view viewer_uid) {
  im::common::v1::Message message;
  message.set_message_id(cmd.message_id);
  *message.mutable_channel() =
      ChannelAsSeenBy(ChannelOfKey(cmd.channel_key, cmd.from_uid), cmd.from_uid, viewer_uid);
  message.set_from_uid(cmd.from_uid);
  message.set_client_msg_no(cmd.client_msg_no);
  message.set_timestamp(cmd.created_ms);
  message.set_payload(cmd.payload);
  message.mutable_flags()->set_sync_once(true);
  message.mutable_flags()->set_red_dot(false);
  return message;
}

}  // namespace im::message
