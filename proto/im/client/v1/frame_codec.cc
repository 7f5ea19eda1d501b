#include "im/client/v1/frame_codec.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace im {

absl::StatusOr<im::client::v1::Frame> DecodeFrame(std::string_view data, Encoding encoding,
                                                  size_t max_bytes, UnknownJsonFields unknown) {
  if (data.size() > max_bytes) {
    return absl::OutOfRangeError(
        absl::StrCat("frame of ", data.size(), " bytes is over the limit of ", max_bytes));
  }
  im::client::v1::Frame frame;
  if (encoding == Encoding::kBinary) {
    if (!frame.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
      return absl::InvalidArgumentError("binary frame is not a valid protobuf Frame");
    }
  } else {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = unknown == UnknownJsonFields::kIgnore;
    const auto status = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(data.data(), data.size()), &frame, options);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("text frame is not a JSON Frame: ", status.message().as_string()));
    }
  }
  return frame;
}

std::string EncodeFrame(const im::client::v1::Frame& frame, Encoding encoding) {
  std::string out;
  if (encoding == Encoding::kBinary) {
    frame.SerializeToString(&out);
  } else {
    google::protobuf::util::MessageToJsonString(frame, &out);
  }
  return out;
}

}  // namespace im
