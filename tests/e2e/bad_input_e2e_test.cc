// Bad input over WebSocket (DESIGN.md invariant 8 and the protocol decisions of section 5): each
// kind gets its reason code and the connection the fate the protocol states, while two bystanders
// on the same gateway keep chatting. The gateway runs with small limits so the limit cases take
// milliseconds.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/e2e/suite_fixture.h"

namespace im {
namespace {

namespace common = im::common::v1;
using client::Encoding;
using client::Frame;
using client::GroupChannel;
using client::PersonChannel;
using testing::NextFrame;
using testing::NextRecv;
using testing::UniqueName;

constexpr int kMaxFrameBytes = 4096;
constexpr int kRateBurst = 20;
// Long enough that no other test's connection idles out, short enough to wait for.
constexpr int kIdleSeconds = 2;

// One gateway with small limits, so each limit is reached in a moment.
struct SmallLimits {
  static testing::SuiteOptions Options() {
    return {.gateways = 1,
            .gateway_env =
                {
                    {"IM_MAX_FRAME_BYTES", absl::StrCat(kMaxFrameBytes)},
                    {"IM_RATE_LIMIT_PER_SEC", "20"},
                    {"IM_RATE_LIMIT_BURST", absl::StrCat(kRateBurst)},
                    {"IM_IDLE_TIMEOUT", absl::StrCat(kIdleSeconds, "s")},
                },
            .extension_env = {}};
  }
};

class BadInputTest : public testing::SuiteTest<SmallLimits> {
 protected:
  void SetUp() override {
    SuiteTest::SetUp();
    if (HasFatalFailure()) return;
    speaker_uid_ = UniqueName("speaker");
    listener_uid_ = UniqueName("listener");
    speaker_ = suite_->Login(speaker_uid_, "phone");
    listener_ = suite_->Login(listener_uid_, "phone");
  }

  // The bystanders' chat still works: a send is acked and delivered.
  void ExpectBystandersUnaffected() {
    absl::StatusOr<client::SendAck> ack =
        speaker_->Send(PersonChannel(listener_uid_), UniqueName("still"), "still here?");
    ASSERT_TRUE(ack.ok()) << ack.status();
    ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
    // Messages the test's own clients sent the listener may come first.
    std::optional<common::Message> got;
    do {
      got = NextRecv(*listener_);
    } while (got.has_value() && got->message_id() != ack->message_id());
    EXPECT_TRUE(got.has_value()) << "a bystander stopped receiving";
  }

  // The connection still answers requests and sends messages.
  void ExpectStillWorks(client::ImClient& client, const std::string& peer) {
    EXPECT_FALSE(client.closed()) << client.close_reason();
    absl::StatusOr<int64_t> pong = client.Ping();
    EXPECT_TRUE(pong.ok()) << pong.status();
    absl::StatusOr<client::SendAck> ack =
        client.Send(PersonChannel(peer), UniqueName("after"), "after the bad frame");
    ASSERT_TRUE(ack.ok()) << ack.status();
    EXPECT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  }

  // The next push is DISCONNECT(reason), then the server closes.
  void ExpectDisconnected(client::ImClient& client, common::ReasonCode reason) {
    std::optional<Frame> frame = NextFrame(client, absl::Seconds(5));
    ASSERT_TRUE(frame.has_value()) << "no DISCONNECT; closed: " << client.close_reason();
    ASSERT_TRUE(frame->has_disconnect()) << frame->ShortDebugString();
    EXPECT_EQ(frame->disconnect().reason(), reason) << frame->ShortDebugString();
    EXPECT_TRUE(client.WaitClosed(absl::Seconds(5))) << "the server left the connection open";
  }

  // The next push is ErrorResponse(BAD_FRAME).
  void ExpectBadFrame(client::ImClient& client) {
    std::optional<Frame> frame = NextFrame(client, absl::Seconds(5));
    ASSERT_TRUE(frame.has_value()) << "no answer; closed: " << client.close_reason();
    ASSERT_TRUE(frame->has_error()) << frame->ShortDebugString();
    EXPECT_EQ(frame->error().reason(), common::REASON_CODE_BAD_FRAME);
    EXPECT_FALSE(frame->error().message().empty());
  }

  std::string speaker_uid_;
  std::string listener_uid_;
  std::unique_ptr<client::ImClient> speaker_;
  std::unique_ptr<client::ImClient> listener_;
};

// DESIGN.md invariant 10 as well.
TEST_F(BadInputTest, ConnectAsAUidTheTokenDoesNotProveGetsAuthFailedAndIsClosed) {
  const std::string uid = UniqueName("intruder");
  suite_->SetToken(uid, "the-real-token");
  auto client = suite_->Open();
  absl::StatusOr<client::ConnAck> ack =
      client->Handshake(uid, "a-guessed-token", "phone", common::DEVICE_FLAG_APP);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->reason(), common::REASON_CODE_AUTH_FAILED) << ack->message();
  EXPECT_TRUE(client->WaitClosed(absl::Seconds(5))) << "the server left the connection open";
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, FrameBeforeConnectGetsConnectRequiredAndIsClosed) {
  auto client = suite_->Open();
  Frame ping;
  ping.set_request_id("early");
  ping.mutable_ping();
  ASSERT_TRUE(client->SendFrame(ping).ok());
  ExpectDisconnected(*client, common::REASON_CODE_CONNECT_REQUIRED);
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, MalformedProtobufGetsBadFrameAndTheConnectionStays) {
  const std::string uid = UniqueName("clumsy");
  auto client = suite_->Login(uid, "phone");
  // A length-delimited field 1 claiming 127 bytes where 5 follow.
  ASSERT_TRUE(client->SendRawBinary(std::string("\x0a\x7f") + "short").ok());
  ExpectBadFrame(*client);
  ExpectStillWorks(*client, listener_uid_);
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, MalformedJsonGetsBadFrameAndTheConnectionStays) {
  const std::string uid = UniqueName("clumsy");
  auto client = suite_->Login(uid, "browser", 0, Encoding::kJson, common::DEVICE_FLAG_WEB);
  ASSERT_TRUE(client->SendRawText(R"({"requestId": "j1", "send": {"channel": )").ok());
  ExpectBadFrame(*client);
  ASSERT_TRUE(client->SendRawText(R"({"requestId": "j2", "noSuchBody": {}})").ok());
  ExpectBadFrame(*client);
  ExpectStillWorks(*client, listener_uid_);
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, FrameOverTheLimitGetsTooLargeAndIsClosed) {
  const std::string uid = UniqueName("bulky");
  auto client = suite_->Login(uid, "phone");
  Frame send;
  send.set_request_id("big");
  *send.mutable_send()->mutable_channel() = PersonChannel(listener_uid_);
  send.mutable_send()->set_client_msg_no("big");
  send.mutable_send()->set_payload(std::string(2 * kMaxFrameBytes, 'x'));
  ASSERT_TRUE(client->SendFrame(send).ok());
  ExpectDisconnected(*client, common::REASON_CODE_TOO_LARGE);
  EXPECT_TRUE(suite_->History(listener_uid_, PersonChannel(uid)).empty());
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, SendToAGroupOneIsNotInGetsNotSubscriber) {
  const std::string outsider = UniqueName("outsider");
  const std::string group = UniqueName("club");
  suite_->CreateGroup(group, {speaker_uid_, listener_uid_});
  auto client = suite_->Login(outsider, "phone");
  absl::StatusOr<client::SendAck> ack = client->Send(GroupChannel(group), "crash", "let me in");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->reason(), common::REASON_CODE_NOT_SUBSCRIBER) << ack->message();
  EXPECT_EQ(ack->message_seq(), 0);
  EXPECT_TRUE(suite_->History(speaker_uid_, GroupChannel(group)).empty());
  ExpectStillWorks(*client, listener_uid_);
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, SyncOfAChannelOneIsNotInGetsNotSubscriber) {
  const std::string outsider = UniqueName("outsider");
  const std::string group = UniqueName("club");
  suite_->CreateGroup(group, {speaker_uid_, listener_uid_});
  absl::StatusOr<client::SendAck> secret =
      speaker_->Send(GroupChannel(group), "secret", "members only");
  ASSERT_TRUE(secret.ok() && secret->reason() == common::REASON_CODE_SUCCESS);
  ASSERT_TRUE(NextRecv(*listener_).has_value());

  auto client = suite_->Login(outsider, "phone");
  client::SyncChannelMessagesRequest request;
  *request.mutable_channel() = GroupChannel(group);
  absl::StatusOr<client::SyncChannelMessagesResponse> response =
      client->SyncChannelMessages(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->reason(), common::REASON_CODE_NOT_SUBSCRIBER) << response->message();
  EXPECT_TRUE(response->messages().empty());
  ExpectStillWorks(*client, listener_uid_);
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, FloodingIsRateLimitedThenClosed) {
  const std::string uid = UniqueName("flood");
  auto client = suite_->Login(uid, "phone");
  constexpr int kFrames = 10 * kRateBurst;
  for (int i = 0; i < kFrames; ++i) {
    Frame ping;
    ping.set_request_id(absl::StrCat("p", i));
    ping.mutable_ping();
    if (!client->SendFrame(ping).ok()) break;
  }
  int pongs = 0;
  int rate_limited = 0;
  std::optional<Frame> disconnect;
  while (std::optional<Frame> frame = NextFrame(*client, absl::Seconds(5))) {
    if (frame->has_pong()) ++pongs;
    if (frame->has_error() && frame->error().reason() == common::REASON_CODE_RATE_LIMITED) {
      ++rate_limited;
    }
    if (frame->has_disconnect()) {
      disconnect = frame;
      break;
    }
  }
  EXPECT_GE(pongs, 1) << "frames within the burst are served";
  EXPECT_LE(pongs, kRateBurst + 5) << "the burst is the limit";
  EXPECT_GE(rate_limited, 1) << "frames over the limit are answered RATE_LIMITED";
  ASSERT_TRUE(disconnect.has_value()) << "a flooding connection is closed with a reason";
  EXPECT_EQ(disconnect->disconnect().reason(), common::REASON_CODE_RATE_LIMITED);
  EXPECT_TRUE(client->WaitClosed(absl::Seconds(5)));
  ExpectBystandersUnaffected();
}

// A client learns every limit it must respect from its CONNACK, not from documentation.
TEST_F(BadInputTest, ConnAckNamesEveryLimitOfTheConnection) {
  const std::string uid = UniqueName("limits");
  suite_->SetToken(uid, "t");
  auto client = suite_->Open();
  absl::StatusOr<client::ConnAck> ack =
      client->Handshake(uid, "t", "phone", common::DEVICE_FLAG_APP);
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  EXPECT_EQ(ack->max_frame_bytes(), static_cast<uint32_t>(kMaxFrameBytes));
  EXPECT_EQ(ack->idle_timeout_seconds(), static_cast<uint32_t>(kIdleSeconds));
  EXPECT_EQ(ack->rate_limit_per_sec(), 20);
  EXPECT_EQ(ack->rate_limit_burst(), kRateBurst);
}

TEST_F(BadInputTest, ConnectWithAnUnknownVersionGetsUnsupportedVersionAndIsClosed) {
  const std::string uid = UniqueName("future");
  suite_->SetToken(uid, "t");
  auto client = suite_->Open();
  absl::StatusOr<client::ConnAck> ack =
      client->Handshake(uid, "t", "phone", common::DEVICE_FLAG_APP, /*protocol_version=*/2);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->reason(), common::REASON_CODE_UNSUPPORTED_VERSION) << ack->message();
  EXPECT_TRUE(client->WaitClosed(absl::Seconds(5)));
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, ConnectWithoutADeviceGetsInvalidArgumentAndIsClosed) {
  const std::string uid = UniqueName("nodevice");
  suite_->SetToken(uid, "t");
  auto client = suite_->Open();
  absl::StatusOr<client::ConnAck> ack = client->Handshake(uid, "t", "", common::DEVICE_FLAG_APP);
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->reason(), common::REASON_CODE_INVALID_ARGUMENT) << ack->message();
  EXPECT_TRUE(client->WaitClosed(absl::Seconds(5)));
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, ServerOnlyFrameGetsBadFrameAndTheConnectionStays) {
  const std::string uid = UniqueName("mimic");
  auto client = suite_->Login(uid, "phone");
  Frame fake_ack;
  fake_ack.set_request_id("mimic");
  fake_ack.mutable_sendack()->set_reason(common::REASON_CODE_SUCCESS);
  ASSERT_TRUE(client->SendFrame(fake_ack).ok());
  std::optional<Frame> frame = NextFrame(*client, absl::Seconds(5));
  ASSERT_TRUE(frame.has_value()) << "no answer; closed: " << client->close_reason();
  ASSERT_TRUE(frame->has_error()) << frame->ShortDebugString();
  EXPECT_EQ(frame->error().reason(), common::REASON_CODE_BAD_FRAME);
  ExpectStillWorks(*client, listener_uid_);
  ExpectBystandersUnaffected();
}

// An internal API checks its requests like a public one.
TEST_F(BadInputTest, DeliverOfAnItemWithoutABodyIsInvalidArgument) {
  auto gateway = im::gateway::v1::GatewayService::NewStub(
      testing::FreshChannel(suite_->gateway(0).grpc_address()));
  im::gateway::v1::DeliverRequest request;
  request.add_items()->add_recipients()->set_uid(UniqueName("nobody"));
  grpc::ClientContext context;
  im::gateway::v1::DeliverResponse response;
  const grpc::Status status = gateway->Deliver(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_NE(status.error_message().find("no body"), std::string::npos) << status.error_message();
}

TEST_F(BadInputTest, SendToOneselfGetsInvalidArgument) {
  const std::string uid = UniqueName("narcissus");
  auto client = suite_->Login(uid, "phone");
  absl::StatusOr<client::SendAck> ack = client->Send(PersonChannel(uid), "me", "note to self");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->reason(), common::REASON_CODE_INVALID_ARGUMENT) << ack->message();
  ExpectStillWorks(*client, listener_uid_);
  ExpectBystandersUnaffected();
}

TEST_F(BadInputTest, IdleConnectionIsClosedWithIdleTimeout) {
  const std::string uid = UniqueName("sleepy");
  auto client = suite_->Login(uid, "phone");
  // The bystanders PING meanwhile, which keeps them connected.
  std::optional<Frame> frame;
  for (int i = 0; i < 4 * (kIdleSeconds + 5) && !frame.has_value(); ++i) {
    frame = NextFrame(*client, absl::Milliseconds(250));
    ASSERT_TRUE(speaker_->Ping().ok());
    ASSERT_TRUE(listener_->Ping().ok());
  }
  ASSERT_TRUE(frame.has_value()) << "no DISCONNECT; closed: " << client->close_reason();
  ASSERT_TRUE(frame->has_disconnect()) << frame->ShortDebugString();
  EXPECT_EQ(frame->disconnect().reason(), common::REASON_CODE_IDLE_TIMEOUT);
  EXPECT_TRUE(client->WaitClosed(absl::Seconds(5)));
  ExpectBystandersUnaffected();
}

}  // namespace
}  // namespace im
