// Bad input over WebSocket (DESIGN.md invariant 8 and the protocol decisions of section 5): each
// kind gets its reason code and the connection the fate the protocol states, while two bystanders
// on the same gateway keep chatting. The gateway runs with small limits so the limit cases take
// milliseconds.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/reason_codes.h"
#include "common/status.h"
#include "tests/e2e/suite_fixture.h"

namespace im {
namespace {

namespace common = im::common::v1;
namespace conv = im::conversation::v1;
namespace ext = im::extension::v1;
namespace msg = im::message::v1;
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
    return {
        .gateways = 1,
        .gateway_env =
            {
                {"IM_MAX_FRAME_BYTES", absl::StrCat(kMaxFrameBytes)},
                {"IM_RATE_LIMIT_PER_SEC", "20"},
                {"IM_RATE_LIMIT_BURST", absl::StrCat(kRateBurst)},
                {"IM_IDLE_TIMEOUT", absl::StrCat(kIdleSeconds, "s")},
            },
        // Clients may set extensions on groups, so that a non-member's set is refused for
        // not being one.
        .extension_env = {{"IM_CLIENT_CHANNEL_TYPES", "group"}, {"IM_CLIENT_EXT_FIELDS", "votes"}}};
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

// A refusal's words name channels as the user sees them ("group team-1"), never by internal key
// ("g:team-1", "p:alice:bob") or by the service that decided.
void ExpectWordsForTheUser(const std::string& message, const std::string& group) {
  EXPECT_NE(message.find(absl::StrCat("group ", group)), std::string::npos) << message;
  EXPECT_EQ(message.find("g:"), std::string::npos) << message;
  EXPECT_EQ(message.find("p:"), std::string::npos) << message;
  EXPECT_EQ(message.find("service:"), std::string::npos) << message;
}

// "Not a member" is one reason whatever the request: NOT_SUBSCRIBER for every client request on
// the group, PERMISSION_DENIED carrying NOT_SUBSCRIBER for business servers' gRPC calls, whichever
// service decided and however many relayed it; and nothing of the group becomes the outsider's.
TEST_F(BadInputTest, EveryRequestOnAGroupOneIsNotInGetsNotSubscriber) {
  const std::string outsider = UniqueName("outsider");
  const std::string group = UniqueName("club");
  suite_->CreateGroup(group, {speaker_uid_, listener_uid_});
  absl::StatusOr<client::SendAck> secret =
      speaker_->Send(GroupChannel(group), "secret", "members only");
  ASSERT_TRUE(secret.ok() && secret->reason() == common::REASON_CODE_SUCCESS);
  // A second message, so that clearing unread to seq 1 asks the message service for a position.
  absl::StatusOr<client::SendAck> more = speaker_->Send(GroupChannel(group), "more", "more");
  ASSERT_TRUE(more.ok() && more->reason() == common::REASON_CODE_SUCCESS);
  auto client = suite_->Login(outsider, "phone");

  const common::Channel channel = GroupChannel(group);
  client::SyncChannelMessagesRequest sync;
  *sync.mutable_channel() = channel;
  absl::StatusOr<client::SyncChannelMessagesResponse> history = client->SyncChannelMessages(sync);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->reason(), common::REASON_CODE_NOT_SUBSCRIBER) << history->message();
  ExpectWordsForTheUser(history->message(), group);
  EXPECT_TRUE(history->messages().empty());

  const std::vector<std::pair<const char*, absl::StatusOr<client::ConversationStateResponse>>>
      changes = {
          {"clear unread", client->ClearUnread(channel, 0)},
          {"clear unread to a seq", client->ClearUnread(channel, 1)},
          {"set unread", client->SetUnread(channel, 1)},
          {"delete", client->DeleteConversation(channel)},
          {"pin", client->SetPinned(channel, true)},
          {"mute", client->SetMuted(channel, true)},
      };
  for (const auto& [what, answer] : changes) {
    ASSERT_TRUE(answer.ok()) << what << ": " << answer.status();
    EXPECT_EQ(answer->reason(), common::REASON_CODE_NOT_SUBSCRIBER)
        << what << ": " << answer->message();
    ExpectWordsForTheUser(answer->message(), group);
    EXPECT_FALSE(answer->has_state()) << what;
  }
  client::ExtensionSyncRequest ext_sync;
  *ext_sync.mutable_channel() = channel;
  absl::StatusOr<client::ExtensionSyncResponse> synced = client->ExtensionSync(ext_sync);
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_EQ(synced->reason(), common::REASON_CODE_NOT_SUBSCRIBER) << synced->message();
  ExpectWordsForTheUser(synced->message(), group);
  client::ExtensionSetRequest ext_set;
  *ext_set.mutable_channel() = channel;
  ext_set.set_message_id(secret->message_id());
  ext_set.set_ext(R"({"votes":1})");
  absl::StatusOr<client::ExtensionSetResponse> set = client->ExtensionSet(ext_set);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->reason(), common::REASON_CODE_NOT_SUBSCRIBER) << set->message();
  ExpectWordsForTheUser(set->message(), group);

  // None of the refused changes gave the outsider a conversation with the group.
  absl::StatusOr<client::SyncConversationsResponse> list =
      client->SyncConversations(client::SyncConversationsRequest());
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->conversations_size(), 0);
  absl::StatusOr<client::SeqSnapshotResponse> seqs = client->SeqSnapshot();
  ASSERT_TRUE(seqs.ok()) << seqs.status();
  EXPECT_EQ(seqs->seqs_size(), 0);

  // The same reason for a business server asking as the outsider, from each service.
  auto expect_not_subscriber = [&](const char* what, const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << what << ": " << status.error_message();
    EXPECT_EQ(ReasonFor(status), common::REASON_CODE_NOT_SUBSCRIBER) << what;
    ExpectWordsForTheUser(status.error_message(), group);
  };
  {
    msg::GetMessagesRequest request;
    request.set_uid(outsider);
    *request.mutable_channel() = channel;
    request.add_message_ids(secret->message_id());
    msg::GetMessagesResponse response;
    grpc::ClientContext context;
    expect_not_subscriber("GetMessages",
                          suite_->Messages()->GetMessages(&context, request, &response));
  }
  {
    conv::SetUnreadRequest request;
    request.set_uid(outsider);
    *request.mutable_channel() = channel;
    request.set_unread(1);
    conv::ConversationState response;
    grpc::ClientContext context;
    expect_not_subscriber("SetUnread",
                          suite_->Conversations()->SetUnread(&context, request, &response));
  }
  {
    ext::GetRequest request;
    request.set_uid(outsider);
    *request.mutable_channel() = channel;
    request.add_message_ids(secret->message_id());
    ext::GetResponse response;
    grpc::ClientContext context;
    expect_not_subscriber("extension Get", suite_->Extensions()->Get(&context, request, &response));
  }
  ExpectStillWorks(*client, listener_uid_);
  ExpectBystandersUnaffected();
}

// A reconnecting client asks for the seqs of the conversations it cached: one it has no
// conversation with is an entry that says so (NOT_FOUND, in the user's words), beside the others.
TEST_F(BadInputTest, AListedSeqSnapshotAnswersEachChannel) {
  const std::string stranger = UniqueName("stranger");
  absl::StatusOr<client::SendAck> hello =
      speaker_->Send(PersonChannel(listener_uid_), UniqueName("hello"), "hello");
  ASSERT_TRUE(hello.ok() && hello->reason() == common::REASON_CODE_SUCCESS);

  absl::StatusOr<client::SeqSnapshotResponse> seqs =
      speaker_->SeqSnapshot({PersonChannel(stranger), PersonChannel(listener_uid_)});
  ASSERT_TRUE(seqs.ok()) << seqs.status();
  EXPECT_EQ(seqs->reason(), common::REASON_CODE_SUCCESS) << seqs->message();
  ASSERT_EQ(seqs->seqs_size(), 2);
  const conv::ChannelSeq& missing = seqs->seqs(0);
  EXPECT_EQ(missing.channel().id(), stranger);
  EXPECT_EQ(missing.reason(), common::REASON_CODE_NOT_FOUND);
  EXPECT_NE(missing.message().find(absl::StrCat("person ", stranger)), std::string::npos)
      << missing.message();
  EXPECT_EQ(missing.message().find("p:"), std::string::npos) << missing.message();
  const conv::ChannelSeq& chat = seqs->seqs(1);
  EXPECT_EQ(chat.channel().id(), listener_uid_);
  EXPECT_EQ(chat.reason(), common::REASON_CODE_SUCCESS) << chat.message();
  EXPECT_GE(chat.max_seq(), hello->message_seq());
}

// An enum value this server does not know is INVALID_ARGUMENT with a message naming the field and
// the value, wherever it enters: client frames and business servers' or the suite's gRPC calls.
TEST_F(BadInputTest, UnknownEnumValuesAreInvalidArgumentNamingTheField) {
  constexpr int kUnknown = 9;
  auto client = suite_->Login(UniqueName("future"), "phone");
  auto expect_named = [&](const char* field, common::ReasonCode reason,
                          const std::string& message) {
    EXPECT_EQ(reason, common::REASON_CODE_INVALID_ARGUMENT) << field << ": " << message;
    EXPECT_NE(message.find(field), std::string::npos) << field << ": " << message;
    EXPECT_NE(message.find(absl::StrCat(kUnknown)), std::string::npos) << field << ": " << message;
  };

  common::Channel odd = PersonChannel(listener_uid_);
  odd.set_type(static_cast<common::ChannelType>(kUnknown));
  absl::StatusOr<client::SendAck> ack = client->Send(odd, "odd", "which channel?");
  ASSERT_TRUE(ack.ok()) << ack.status();
  expect_named("channel type", ack->reason(), ack->message());

  client::SyncChannelMessagesRequest sync;
  *sync.mutable_channel() = PersonChannel(listener_uid_);
  sync.set_direction(static_cast<msg::SyncDirection>(kUnknown));
  absl::StatusOr<client::SyncChannelMessagesResponse> synced = client->SyncChannelMessages(sync);
  ASSERT_TRUE(synced.ok()) << synced.status();
  expect_named("direction", synced->reason(), synced->message());

  client::SyncConversationsRequest list;
  list.add_exclude_channel_types(static_cast<common::ChannelType>(kUnknown));
  absl::StatusOr<client::SyncConversationsResponse> listed = client->SyncConversations(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  expect_named("exclude_channel_types", listed->reason(), listed->message());

  absl::StatusOr<client::SeqSubscribeResponse> mode =
      client->SeqSubscribe(static_cast<client::SeqSubscribeMode>(kUnknown));
  ASSERT_TRUE(mode.ok()) << mode.status();
  expect_named("mode", mode->reason(), mode->message());

  client::ExtensionSetRequest set;
  *set.mutable_channel() = PersonChannel(listener_uid_);
  set.set_message_id(1);
  set.set_ext(R"({"votes":1})");
  set.set_mode(static_cast<ext::SetMode>(kUnknown));
  absl::StatusOr<client::ExtensionSetResponse> ext_set = client->ExtensionSet(set);
  ASSERT_TRUE(ext_set.ok()) << ext_set.status();
  expect_named("mode", ext_set->reason(), ext_set->message());
  ExpectStillWorks(*client, listener_uid_);

  auto expect_grpc_named = [&](const char* field, const grpc::Status& status) {
    expect_named(field, ReasonFor(status), status.error_message());
  };
  {
    im::gateway::v1::SetTokenRequest request;
    request.set_uid(UniqueName("future"));
    request.set_token("t");
    request.set_device_flag(static_cast<common::DeviceFlag>(kUnknown));
    im::gateway::v1::SetTokenResponse response;
    grpc::ClientContext context;
    expect_grpc_named("device_flag", suite_->Users()->SetToken(&context, request, &response));
  }
  {
    im::gateway::v1::KickRequest request;
    request.set_uid(UniqueName("future"));
    request.set_device_flag(static_cast<common::DeviceFlag>(kUnknown));
    im::gateway::v1::KickResponse response;
    grpc::ClientContext context;
    expect_grpc_named("device_flag", suite_->Users()->Kick(&context, request, &response));
  }
  {
    im::gateway::v1::DisconnectRequest request;
    request.set_uid(speaker_uid_);
    request.set_reason(static_cast<common::ReasonCode>(kUnknown * 111));
    im::gateway::v1::DisconnectResponse response;
    grpc::ClientContext context;
    const grpc::Status status = suite_->Gateways()->Disconnect(&context, request, &response);
    EXPECT_EQ(ReasonFor(status), common::REASON_CODE_INVALID_ARGUMENT) << status.error_message();
    EXPECT_NE(status.error_message().find("reason 999"), std::string::npos)
        << status.error_message();
  }
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
