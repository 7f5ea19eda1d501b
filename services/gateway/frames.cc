#include "services/gateway/frames.h"

#include <utility>

namespace im::gateway {

Frame DisconnectFrame(ReasonCode reason, std::string message) {
  Frame frame;
  frame.mutable_disconnect()->set_reason(reason);
  frame.mutable_disconnect()->set_message(std::move(message));
  return frame;
}

Frame ErrorFrame(std::string request_id, ReasonCode reason, std::string message) {
  Frame frame;
  frame.set_request_id(std::move(request_id));
  frame.mutable_error()->set_reason(reason);
  frame.mutable_error()->set_message(std::move(message));
  return frame;
}

}  // namespace im::gateway
