// Reading channel history: SyncChannelMessages and GetMessages, with the access rules (PERSON: the
// reader is one of the two; GROUP: a subscriber of a live group, or a trusted call without uid)
// and the exact covered range of DESIGN.md invariant 3.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "im/message/v1/message.pb.h"
#include "services/message/channel_store.h"
#include "services/message/message_store.h"

namespace im::message {

class MessageReader {
 public:
  struct Options {
    uint32_t default_limit = 100;
    uint32_t max_limit = 1000;
    // Most seqs or ids one GetMessages may name.
    size_t max_get = 1000;
    // Largest answer (messages, serialized), well under gRPC's default 4 MiB receive limit.
    size_t max_response_bytes = 2 << 20;
  };

  MessageReader(ChannelStore* channels, MessageStore* messages, Options options)
      : channels_(channels), messages_(messages), options_(options) {}

  // Messages in ascending seq order. `covered` never extends past the channel's highest committed
  // seq, and every existing seq inside it is returned: commits of a channel never land below a
  // visible seq (MessageStore::InsertMessages), so a gap inside `covered` is final. has_more says
  // more committed messages lie in the requested range beyond `covered`. A page ends early, with
  // `covered` ending (NEWER) or starting (OLDER) at its last message, once its messages would pass
  // max_response_bytes; it always holds at least one.
  // INVALID_ARGUMENT for a bad request, NOT_FOUND for an unknown or deleted group,
  // PERMISSION_DENIED when the uid is not a subscriber.
  absl::StatusOr<im::message::v1::SyncChannelMessagesResponse> Sync(
      const im::message::v1::SyncChannelMessagesRequest& request);

  // The named messages that exist, in request order. Errors as for Sync, and INVALID_ARGUMENT when
  // more than one message is named and they come to more than max_response_bytes.
  absl::StatusOr<im::message::v1::GetMessagesResponse> Get(
      const im::message::v1::GetMessagesRequest& request);

 private:
  ChannelStore* channels_;
  MessageStore* messages_;
  const Options options_;
};

}  // namespace im::message
