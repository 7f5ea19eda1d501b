// GetChannelHeads and GetReadPosition: the channel counters the conversation service computes
// exact unread counts from (DESIGN.md invariant 6) without per-member rows. Each call reads one
// snapshot.
//
//   HeadsReader heads(&channel_store, &message_store, {});
//   absl::StatusOr<v1::GetChannelHeadsResponse> r = heads.GetChannelHeads(request);
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "im/message/v1/message.pb.h"
#include "services/message/channel_store.h"
#include "services/message/message_store.h"

namespace im::message {

class HeadsReader {
 public:
  struct Options {
    // Most channels in one GetChannelHeads.
    size_t max_channels = 10000;
    // Most recents per channel; larger msg_count values are capped to it.
    uint32_t max_msg_count = 20;
    // Largest GetReadPosition unread target.
    uint32_t max_unread = 10000;
  };

  HeadsReader(ChannelStore* channels, MessageStore* messages, Options options)
      : channels_(channels), messages_(messages), options_(options) {}

  // One head per channel in request order, channels as the viewer gave them. Group membership is
  // not checked (the caller keeps the viewer's list). INVALID_ARGUMENT for a bad uid or channel,
  // more than max_channels channels, more hidden_to_seqs than channels or a negative one.
  absl::StatusOr<im::message::v1::GetChannelHeadsResponse> GetChannelHeads(
      const im::message::v1::GetChannelHeadsRequest& request);

  // The read position for the target and the counters at it. INVALID_ARGUMENT for a bad uid or
  // channel, a negative read_seq or an unread target above max_unread; NOT_FOUND for an unknown or
  // deleted group, PERMISSION_DENIED when the uid is not a subscriber.
  absl::StatusOr<im::message::v1::ReadPosition> GetReadPosition(
      const im::message::v1::GetReadPositionRequest& request);

 private:
  ChannelStore* channels_;
  MessageStore* messages_;
  const Options options_;
};

}  // namespace im::message
