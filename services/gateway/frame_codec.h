// Client frames on the wire (DESIGN.md section 5): binary WebSocket messages carry a protobuf
// im.client.v1.Frame, text messages the canonical protobuf JSON mapping of the same Frame. The
// gateway answers in the encoding of the request.
//
//   absl::StatusOr<Frame> frame = DecodeFrame(bytes, Encoding::kJson, 64 * 1024);
//   std::string out = EncodeFrame(reply, Encoding::kJson);
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "im/client/v1/client.pb.h"

namespace im::gateway {

enum class Encoding { kBinary, kJson };

// OUT_OF_RANGE when `data` is over `max_bytes` (checked before parsing); INVALID_ARGUMENT, with
// what is wrong, for bytes that are not a Frame in that encoding (unknown JSON fields included) or
// a Frame without a body.
absl::StatusOr<im::client::v1::Frame> DecodeFrame(std::string_view data, Encoding encoding,
                                                  size_t max_bytes);

// The frame in `encoding`; JSON uses lowerCamelCase names and omits default values.
std::string EncodeFrame(const im::client::v1::Frame& frame, Encoding encoding);

}  // namespace im::gateway
