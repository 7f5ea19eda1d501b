// Client frames on the wire (DESIGN.md section 5): binary WebSocket messages carry a protobuf
// im.client.v1.Frame, text messages the canonical protobuf JSON mapping of the same Frame. The
// gateway answers in the encoding of the request. One codec for both ends: the gateway decodes
// strictly, a client tolerates fields a newer server may add.
//
//   absl::StatusOr<Frame> frame = DecodeFrame(bytes, Encoding::kJson, 64 * 1024);
//   std::string out = EncodeFrame(reply, Encoding::kJson);
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "im/client/v1/client.pb.h"

namespace im {

enum class Encoding { kBinary, kJson };

// What a JSON frame with a field this schema does not know gets: an error (the server, where it is
// a client bug) or ignored (a client talking to a newer server).
enum class UnknownJsonFields { kReject, kIgnore };

// OUT_OF_RANGE when `data` is over `max_bytes` (checked before parsing); INVALID_ARGUMENT, with
// what is wrong, for bytes that are not a Frame in that encoding (unknown JSON fields included,
// unless ignored). A Frame without a body decodes, so that its answer can echo its request_id.
absl::StatusOr<im::client::v1::Frame> DecodeFrame(
    std::string_view data, Encoding encoding, size_t max_bytes,
    UnknownJsonFields unknown = UnknownJsonFields::kReject);

// The frame in `encoding`; JSON uses lowerCamelCase names and omits default values.
std::string EncodeFrame(const im::client::v1::Frame& frame, Encoding encoding);

}  // namespace im
