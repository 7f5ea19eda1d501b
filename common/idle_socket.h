// Whether a pooled connection that sat idle is still usable, without a round trip: on an idle
// client connection of a request/response protocol the server sends nothing, so anything to read
// (its close, a reset, a "terminating connection" notice before the close) means the server has
// gone away or is about to. A false alarm costs one reconnect.
#pragma once

#include <poll.h>

namespace im {

inline bool IdleSocketIsOpen(int fd) {
  if (fd < 0) return false;
  pollfd entry{fd, POLLIN | POLLRDHUP, 0};
  const int ready = poll(&entry, 1, 0);
  return ready == 0;
}

}  // namespace im
