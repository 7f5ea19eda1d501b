// Golden frames of the client protocol: each golden/NAME.json beside this file is a canonical JSON
// frame and NAME.hex the same frame in binary. A protocol change shows up as a diff of these files
// in review. IM_UPDATE_GOLDEN=1 rewrites the .hex files from the .json ones.
#include "im/client/v1/frame_codec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/strip.h"

namespace im {
namespace {

constexpr size_t kLimit = 64 * 1024;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return std::string(absl::StripTrailingAsciiWhitespace(buffer.str()));
}

class GoldenFrameTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenFrameTest, JsonAndBinaryRoundTrip) {
  const std::string base = std::string(IM_GOLDEN_DIR) + "/" + GetParam();
  const std::string json = ReadFile(base + ".json");
  ASSERT_FALSE(json.empty()) << base << ".json";

  absl::StatusOr<im::client::v1::Frame> from_json = DecodeFrame(json, Encoding::kJson, kLimit);
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ(EncodeFrame(*from_json, Encoding::kJson), json);

  const std::string hex = absl::BytesToHexString(EncodeFrame(*from_json, Encoding::kBinary));
  if (std::getenv("IM_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(base + ".hex") << hex << "\n";
  }
  EXPECT_EQ(hex, ReadFile(base + ".hex"));

  absl::StatusOr<im::client::v1::Frame> from_binary =
      DecodeFrame(absl::HexStringToBytes(hex), Encoding::kBinary, kLimit);
  ASSERT_TRUE(from_binary.ok()) << from_binary.status();
  EXPECT_EQ(EncodeFrame(*from_binary, Encoding::kJson), json);
}

INSTANTIATE_TEST_SUITE_P(Client, GoldenFrameTest,
                         ::testing::Values("connect", "send", "sendack", "ping",
                                           "seq_snapshot_response"));

TEST(FrameCodecTest, RejectsWhatIsNotAFrame) {
  EXPECT_EQ(DecodeFrame("\xff\xff\xff", Encoding::kBinary, kLimit).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeFrame("{\"ping\":", Encoding::kJson, kLimit).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeFrame("{\"pong\":{},\"nosuchfield\":1}", Encoding::kJson, kLimit).status().code(),
            absl::StatusCode::kInvalidArgument);
  // No body is a frame still, so that the gateway's answer can echo its request_id.
  absl::StatusOr<im::client::v1::Frame> bodiless =
      DecodeFrame("{\"requestId\":\"x\"}", Encoding::kJson, kLimit);
  ASSERT_TRUE(bodiless.ok()) << bodiless.status();
  EXPECT_EQ(bodiless->request_id(), "x");
  EXPECT_EQ(bodiless->body_case(), im::client::v1::Frame::BODY_NOT_SET);
  EXPECT_EQ(DecodeFrame("", Encoding::kBinary, kLimit)->body_case(),
            im::client::v1::Frame::BODY_NOT_SET);
}

TEST(FrameCodecTest, AClientIgnoresJsonFieldsItDoesNotKnow) {
  auto frame = DecodeFrame("{\"pong\":{\"serverTime\":\"5\"},\"fromANewerServer\":1}",
                           Encoding::kJson, kLimit, UnknownJsonFields::kIgnore);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->pong().server_time(), 5);
}

// An enum value this schema does not know, sent as a number, decodes as that number (so the
// gateway can answer INVALID_ARGUMENT naming the field); sent as a name, it is no frame.
TEST(FrameCodecTest, UnknownEnumNumbersDecodeUnknownNamesDoNot) {
  absl::StatusOr<im::client::v1::Frame> number =
      DecodeFrame(R"({"seqSubscribeRequest":{"mode":9}})", Encoding::kJson, kLimit);
  ASSERT_TRUE(number.ok()) << number.status();
  EXPECT_EQ(static_cast<int>(number->seq_subscribe_request().mode()), 9);
  im::client::v1::Frame binary;
  binary.mutable_seq_subscribe_request()->set_mode(
      static_cast<im::client::v1::SeqSubscribeMode>(9));
  absl::StatusOr<im::client::v1::Frame> decoded =
      DecodeFrame(EncodeFrame(binary, Encoding::kBinary), Encoding::kBinary, kLimit);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(static_cast<int>(decoded->seq_subscribe_request().mode()), 9);
  EXPECT_EQ(DecodeFrame(R"({"seqSubscribeRequest":{"mode":"SEQ_SUBSCRIBE_MODE_SIDEWAYS"}})",
                        Encoding::kJson, kLimit)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FrameCodecTest, RejectsOversizedFramesBeforeParsing) {
  const std::string big(kLimit + 1, ' ');
  EXPECT_EQ(DecodeFrame(big, Encoding::kJson, kLimit).status().code(),
            absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace im
