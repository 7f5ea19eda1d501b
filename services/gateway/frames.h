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

}  // namespace im::gateway
