// Builders for the frames the gateway itself answers with, so every reply of one kind looks the
// same wherever it is sent from.
#pragma once

#include <string>

#include "im/client/v1/client.pb.h"
#include "im/common/v1/common.pb.h"

namespace im::gateway {

using im::client::v1::Frame;
using im::common::v1::ReasonCode;

Frame DisconnectFrame(ReasonCode reason, std::string message);

Frame ErrorFrame(std::string request_id, ReasonCode reason, std::string message);

// The answer to `request` when it is refused before being served (rate limit, busy): its typed
// response where it has one (SENDACK with its client_msg_no, the message, conversation and seq
// responses, the cmd and extension responses), ErrorResponse otherwise.
Frame RefusalFor(const Frame& request, ReasonCode reason, std::string message);

// Whether `body` is sent only by servers, so a client sending it sent a bad frame.
bool IsServerOnlyBody(Frame::BodyCase body);

}  // namespace im::gateway
