// One push handed to fan-out: what to deliver and to whom. Recipients are either explicit (cmd
// messages, notifications to listed uids) or derived from the channel (both parties of a PERSON
// channel, every subscriber of a GROUP).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "im/gateway/v1/gateway.pb.h"

namespace im::message {

struct FanoutItem {
  // Whose devices get it: `uids` when explicit_uids, else the channel's parties or subscribers.
  std::string channel_key;
  bool explicit_uids = false;
  std::vector<std::string> uids;
  // Parallel to `uids` for cmd messages (each recipient's inbox position); empty otherwise.
  std::vector<int64_t> cmd_seqs;
  // The body (and exclude_device) of the DeliverItem each gateway gets; recipients are added per
  // gateway.
  im::gateway::v1::DeliverItem item;
};

}  // namespace im::message
