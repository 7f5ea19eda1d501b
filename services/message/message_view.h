// How a stored message is presented: the channel as a given uid sees it (im.common.v1.Channel),
// so both parties of a PERSON chat read one history, each seeing the other as the channel.
#pragma once

#include <string_view>

#include "im/common/v1/common.pb.h"
#include "services/message/cmd_store.h"
#include "services/message/message_store.h"

namespace im::message {

// A history message as `viewer_uid` sees it (any viewer for GROUP channels).
im::common::v1::Message ToMessage(const StoredMessage& stored, std::string_view viewer_uid);

// A cmd (sync_once) message as `viewer_uid` sees it: the same shape as its CMD push, which
// carries it as its sender addressed it (viewer = from_uid) for the gateway to present.
im::common::v1::Message CmdToMessage(const StoredCmd& cmd, std::string_view viewer_uid);

}  // namespace im::message
