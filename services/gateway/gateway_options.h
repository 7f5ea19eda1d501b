// The gateway's tunables, read from flags in main.cc and handed to the parts that enforce them.
#pragma once

#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "services/gateway/session_hub.h"

namespace im::gateway {

struct GatewayOptions {
  // Largest accepted client frame; larger ones close the connection with TOO_LARGE.
  size_t max_frame_bytes = 64 * 1024;
  // No frame for this long closes the connection with IDLE_TIMEOUT (also before CONNECT).
  absl::Duration idle_timeout = absl::Seconds(120);
  // Token bucket per connection.
  double rate_limit_per_sec = 100;
  double rate_limit_burst = 200;
  // Bound on frames and bytes waiting to be written to one connection.
  size_t write_queue_max_frames = 4096;
  size_t write_queue_max_bytes = 8 * 1024 * 1024;
  // How long a closing connection may take to flush its last frames and close the WebSocket.
  absl::Duration close_timeout = absl::Seconds(5);
  MultiDevicePolicy multi_device = MultiDevicePolicy::kKickSameFlag;
  // Deadline of calls to the message service.
  absl::Duration message_timeout = absl::Seconds(5);
  // Deadline of calls to the conversation service.
  absl::Duration conversation_timeout = absl::Seconds(5);
  // Deadline of calls to the extension service.
  absl::Duration extension_timeout = absl::Seconds(5);
  // Whether clients may send sync_once (cmd) messages; cmds are normally a business server's tool,
  // and a client's cmd lands in other users' inboxes outside channel history.
  bool client_cmds = false;
};

}  // namespace im::gateway
