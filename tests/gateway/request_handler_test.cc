// RequestHandler's conversation and seq requests against an in-process fake ConversationService:
// the uid check, what is forwarded (the connection's uid and device), how the answers and failures
// come back (typed response, request_id, the request's encoding), and SEQ_SUBSCRIBE; the extension
// requests against a fake ExtensionService (operator and reader = the connection, from_client,
// a version mismatch's current value from the status details); the cmd requests against a fake
// CmdService (the connection's uid and device, entries back, failures as reason codes).
#include "services/gateway/request_handler.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/reason_codes.h"
#include "common/status.h"
#include "tests/fakes/fake_connection.h"
#include "tests/support/channel_release.h"

namespace im::gateway {
namespace {

namespace conv = im::conversation::v1;
using im::client::v1::Frame;
using namespace im::common::v1;

// Records every request and answers with `failure` if set, otherwise with canned values.
class FakeConversationService final : public conv::ConversationService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const conv::SyncRequest* request,
                                 conv::SyncResponse* response) override {
    Record(*request);
    conv::Conversation* conversation = response->add_conversations();
    conversation->mutable_channel()->set_id("bob");
    conversation->set_unread(3);
    response->add_deleted_channels()->set_id("old");
    response->set_next_cursor("next");
    response->set_has_more(true);
    return Finish(context);
  }
  grpc::ServerUnaryReactor* GetChannelSeqs(grpc::CallbackServerContext* context,
                                           const conv::GetChannelSeqsRequest* request,
                                           conv::GetChannelSeqsResponse* response) override {
    Record(*request);
    for (const Channel& channel : request->channels()) {
      conv::ChannelSeq* seq = response->add_seqs();
      *seq->mutable_channel() = channel;
      if (channel.id() == "gone") {
        seq->set_reason(REASON_CODE_NOT_FOUND);
        seq->set_message("user alice has no conversation with person gone");
        continue;
      }
      seq->set_max_seq(9);
      seq->set_reason(REASON_CODE_SUCCESS);
    }
    return Finish(context);
  }
  grpc::ServerUnaryReactor* ClearUnread(grpc::CallbackServerContext* context,
                                        const conv::ClearUnreadRequest* request,
                                        conv::ConversationState* response) override {
    Record(*request);
    return State(context, request->channel(), response);
  }
  grpc::ServerUnaryReactor* SetUnread(grpc::CallbackServerContext* context,
                                      const conv::SetUnreadRequest* request,
                                      conv::ConversationState* response) override {
    Record(*request);
    return State(context, request->channel(), response);
  }
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context,
                                   const conv::DeleteRequest* request,
                                   conv::ConversationState* response) override {
    Record(*request);
    return State(context, request->channel(), response);
  }
  grpc::ServerUnaryReactor* SetPinned(grpc::CallbackServerContext* context,
                                      const conv::SetPinnedRequest* request,
                                      conv::ConversationState* response) override {
    Record(*request);
    return State(context, request->channel(), response);
  }
  grpc::ServerUnaryReactor* SetMuted(grpc::CallbackServerContext* context,
                                     const conv::SetMutedRequest* request,
                                     conv::ConversationState* response) override {
    Record(*request);
    return State(context, request->channel(), response);
  }

  // The requests received so far, as debug strings of their type and content.
  std::vector<std::string> Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls_;
  }

  std::mutex mu;
  grpc::Status failure = grpc::Status::OK;  // Guarded by mu.
  std::chrono::milliseconds delay{0};

 private:
  void Record(const google::protobuf::Message& request) {
    std::lock_guard<std::mutex> lock(mu);
    calls_.push_back(request.GetTypeName() + " " + request.ShortDebugString());
  }
  grpc::ServerUnaryReactor* State(grpc::CallbackServerContext* context, const Channel& channel,
                                  conv::ConversationState* state) {
    *state->mutable_channel() = channel;
    state->set_read_seq(4);
    state->set_pinned(true);
    return Finish(context);
  }
  grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context) {
    std::this_thread::sleep_for(delay);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::lock_guard<std::mutex> lock(mu);
    reactor->Finish(failure);
    return reactor;
  }

  std::vector<std::string> calls_;
};

namespace ext = im::extension::v1;

// Records Set and Sync requests; Set answers `set_failure` (with a current value as details for
// FAILED_PRECONDITION) or an applied value.
// Records every cmd request; Sync answers two entries after `after`, Ack fails above 10.
class FakeCmdService final : public im::message::v1::CmdService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const im::message::v1::CmdSyncRequest* request,
                                 im::message::v1::CmdSyncResponse* response) override {
    Record(request->ShortDebugString());
    for (int64_t seq = request->after() + 1; seq <= request->after() + 2; ++seq) {
      response->add_entries()->set_cmd_seq(seq);
    }
    response->set_has_more(true);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* context,
                                const im::message::v1::CmdAckRequest* request,
                                im::message::v1::CmdAckResponse*) override {
    Record(request->ShortDebugString());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(request->up_to() > 10
                        ? grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "up_to above last")
                        : grpc::Status::OK);
    return reactor;
  }

  std::vector<std::string> Calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  void Record(std::string call) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(call));
  }

  std::mutex mu_;
  std::vector<std::string> calls_;
};

class FakeExtensionService final : public ext::ExtensionService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Set(grpc::CallbackServerContext* context,
                                const ext::SetRequest* request,
                                ext::SetResponse* response) override {
    std::lock_guard<std::mutex> lock(mu);
    sets.push_back(*request);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    ext::ExtensionValue value;
    value.set_message_id(request->message_id());
    value.set_version(41);
    value.set_status(7);
    if (set_failure.ok()) {
      response->set_applied(true);
      *response->mutable_value() = value;
      reactor->Finish(grpc::Status::OK);
    } else {
      absl::Status status = set_failure;
      SetDetails(status, value);
      reactor->Finish(ToGrpcStatus(status));
    }
    return reactor;
  }
  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const ext::SyncRequest* request,
                                 ext::SyncResponse* response) override {
    std::lock_guard<std::mutex> lock(mu);
    syncs.push_back(*request);
    response->add_values()->set_version(5);
    response->set_has_more(true);
    response->set_latest_version(5);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(sync_failure);
    return reactor;
  }

  std::mutex mu;
  absl::Status set_failure;
  grpc::Status sync_failure = grpc::Status::OK;
  std::vector<ext::SetRequest> sets;
  std::vector<ext::SyncRequest> syncs;
};

Channel Person(const std::string& peer) {
  Channel channel;
  channel.set_id(peer);
  channel.set_type(CHANNEL_TYPE_PERSON);
  return channel;
}

class RequestHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&conversations_);
    builder.RegisterService(&extensions_);
    builder.RegisterService(&cmds_);
    server_ = builder.BuildAndStart();
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    const std::shared_ptr<grpc::Channel>& channel = channel_;
    // The message service is not registered: these tests never reach it.
    std::shared_ptr<im::message::v1::MessageService::StubInterface> messages =
        im::message::v1::MessageService::NewStub(channel);
    batcher_ = std::make_unique<SendBatcher>(messages, SendBatcher::Options{});
    options_.conversation_timeout = absl::Milliseconds(500);
    handler_ = std::make_unique<RequestHandler>(
        batcher_.get(), messages, im::message::v1::CmdService::NewStub(channel),
        conv::ConversationService::NewStub(channel), ext::ExtensionService::NewStub(channel),
        &metrics_, options_);
  }
  void TearDown() override {
    handler_.reset();
    batcher_.reset();
    EXPECT_TRUE(im::testing::ReleaseChannel(channel_)) << "a call outlived its test";
    server_->Shutdown();
  }

  // Handles `request` as request "q1" and returns the one answer.
  Frame Answer(Frame request, Encoding encoding = Encoding::kBinary) {
    const size_t before = conn_->WaitForFrames(0).size();
    request.set_request_id("q1");
    handler_->Handle(conn_, std::move(request), encoding);
    std::vector<Frame> frames = conn_->WaitForFrames(before + 1);
    EXPECT_EQ(frames.size(), before + 1) << "no answer";
    if (frames.size() != before + 1) return Frame();
    EXPECT_EQ(frames.back().request_id(), "q1");
    EXPECT_EQ(conn_->encodings.back(), encoding) << "answers use the request's encoding";
    return frames.back();
  }

  FakeConversationService conversations_;
  FakeExtensionService extensions_;
  FakeCmdService cmds_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  GatewayMetrics metrics_;
  GatewayOptions options_;
  std::unique_ptr<SendBatcher> batcher_;
  std::unique_ptr<RequestHandler> handler_;
  std::shared_ptr<FakeConnection> conn_ =
      std::make_shared<FakeConnection>("alice", "phone", DEVICE_FLAG_APP);
};

// Every conversation and seq request, naming `uid`.
std::vector<Frame> EveryConversationRequest(const std::string& uid) {
  std::vector<Frame> frames(7);
  frames[0].mutable_sync_conversations_request()->set_uid(uid);
  frames[1].mutable_clear_unread_request()->set_uid(uid);
  frames[2].mutable_set_unread_request()->set_uid(uid);
  frames[3].mutable_delete_conversation_request()->set_uid(uid);
  frames[4].mutable_set_pinned_request()->set_uid(uid);
  frames[5].mutable_set_muted_request()->set_uid(uid);
  frames[6].mutable_seq_snapshot_request()->set_uid(uid);
  return frames;
}

// The reason of whichever typed response `frame` carries.
ReasonCode ReasonOf(const Frame& frame) {
  switch (frame.body_case()) {
    case Frame::kSyncConversationsResponse:
      return frame.sync_conversations_response().reason();
    case Frame::kClearUnreadResponse:
      return frame.clear_unread_response().reason();
    case Frame::kSetUnreadResponse:
      return frame.set_unread_response().reason();
    case Frame::kDeleteConversationResponse:
      return frame.delete_conversation_response().reason();
    case Frame::kSetPinnedResponse:
      return frame.set_pinned_response().reason();
    case Frame::kSetMutedResponse:
      return frame.set_muted_response().reason();
    case Frame::kSeqSnapshotResponse:
      return frame.seq_snapshot_response().reason();
    default:
      ADD_FAILURE() << "not a conversation response: " << frame.ShortDebugString();
      return REASON_CODE_UNSPECIFIED;
  }
}

// DESIGN.md invariant 10: the connection's uid is the one its CONNECT token proved.
TEST_F(RequestHandlerTest, ActsOnlyAsTheUidItsTokenProvesAnotherUidIsRefusedWithoutACall) {
  for (Frame& request : EveryConversationRequest("mallory")) {
    const Frame::BodyCase body = request.body_case();
    const Frame answer = Answer(std::move(request));
    // Each request's typed response has the field number after its own.
    EXPECT_EQ(static_cast<int>(answer.body_case()), static_cast<int>(body) + 1);
    EXPECT_EQ(ReasonOf(answer), REASON_CODE_PERMISSION_DENIED);
  }
  EXPECT_TRUE(conversations_.Calls().empty());
}

TEST_F(RequestHandlerTest, TheOwnUidOrNoneIsForwardedAsTheConnection) {
  for (const std::string uid : {"", "alice"}) {
    for (Frame& request : EveryConversationRequest(uid)) {
      EXPECT_EQ(ReasonOf(Answer(std::move(request))), REASON_CODE_SUCCESS);
    }
  }
  std::vector<std::string> calls = conversations_.Calls();
  ASSERT_EQ(calls.size(), 14u);
  for (const std::string& call : calls) EXPECT_NE(call.find("uid: \"alice\""), std::string::npos);
}

TEST_F(RequestHandlerTest, ChangesCarryTheDeviceAndReturnTheState) {
  Frame request;
  im::client::v1::ClearUnreadRequest* read = request.mutable_clear_unread_request();
  *read->mutable_channel() = Person("bob");
  read->set_read_seq(4);
  const Frame answer = Answer(request, Encoding::kJson);
  ASSERT_TRUE(answer.has_clear_unread_response());
  EXPECT_EQ(answer.clear_unread_response().state().channel().id(), "bob");
  EXPECT_EQ(answer.clear_unread_response().state().read_seq(), 4);

  Frame unread;
  *unread.mutable_set_unread_request()->mutable_channel() = Person("bob");
  unread.mutable_set_unread_request()->set_unread(2);
  EXPECT_TRUE(Answer(unread).set_unread_response().state().pinned());
  Frame remove;
  *remove.mutable_delete_conversation_request()->mutable_channel() = Person("bob");
  EXPECT_EQ(Answer(remove).delete_conversation_response().state().channel().id(), "bob");
  Frame pin;
  *pin.mutable_set_pinned_request()->mutable_channel() = Person("bob");
  pin.mutable_set_pinned_request()->set_pinned(true);
  EXPECT_EQ(Answer(pin).set_pinned_response().reason(), REASON_CODE_SUCCESS);
  Frame mute;
  *mute.mutable_set_muted_request()->mutable_channel() = Person("bob");
  mute.mutable_set_muted_request()->set_muted(true);
  EXPECT_EQ(Answer(mute).set_muted_response().reason(), REASON_CODE_SUCCESS);

  EXPECT_EQ(conversations_.Calls(),
            (std::vector<std::string>{
                "im.conversation.v1.ClearUnreadRequest uid: \"alice\" channel { id: \"bob\" type: "
                "CHANNEL_TYPE_PERSON } read_seq: 4 device_id: \"phone\"",
                "im.conversation.v1.SetUnreadRequest uid: \"alice\" channel { id: \"bob\" type: "
                "CHANNEL_TYPE_PERSON } unread: 2 device_id: \"phone\"",
                "im.conversation.v1.DeleteRequest uid: \"alice\" channel { id: \"bob\" type: "
                "CHANNEL_TYPE_PERSON } device_id: \"phone\"",
                "im.conversation.v1.SetPinnedRequest uid: \"alice\" channel { id: \"bob\" type: "
                "CHANNEL_TYPE_PERSON } pinned: true device_id: \"phone\"",
                "im.conversation.v1.SetMutedRequest uid: \"alice\" channel { id: \"bob\" type: "
                "CHANNEL_TYPE_PERSON } muted: true device_id: \"phone\"",
            }));
}

TEST_F(RequestHandlerTest, SyncAndSnapshotPassTheirFieldsBothWays) {
  Frame sync;
  im::client::v1::SyncConversationsRequest* in = sync.mutable_sync_conversations_request();
  in->set_cursor("c1");
  in->set_limit(50);
  in->set_msg_count(2);
  in->set_only_unread(true);
  in->add_exclude_channel_types(CHANNEL_TYPE_GROUP);
  const Frame synced = Answer(sync, Encoding::kJson);
  const im::client::v1::SyncConversationsResponse& page = synced.sync_conversations_response();
  EXPECT_EQ(page.reason(), REASON_CODE_SUCCESS);
  ASSERT_EQ(page.conversations_size(), 1);
  EXPECT_EQ(page.conversations(0).unread(), 3u);
  ASSERT_EQ(page.deleted_channels_size(), 1);
  EXPECT_EQ(page.deleted_channels(0).id(), "old");
  EXPECT_EQ(page.next_cursor(), "next");
  EXPECT_TRUE(page.has_more());

  Frame snapshot;
  *snapshot.mutable_seq_snapshot_request()->add_channels() = Person("bob");
  *snapshot.mutable_seq_snapshot_request()->add_channels() = Person("gone");
  *snapshot.mutable_seq_snapshot_request()->add_channels() = Person("carol");
  const Frame seqs = Answer(snapshot);
  // Each listed channel has its own entry and reason: the one without a conversation says so,
  // beside the others.
  const im::client::v1::SeqSnapshotResponse& snapped = seqs.seq_snapshot_response();
  EXPECT_EQ(snapped.reason(), REASON_CODE_SUCCESS);
  ASSERT_EQ(snapped.seqs_size(), 3);
  EXPECT_EQ(snapped.seqs(0).reason(), REASON_CODE_SUCCESS);
  EXPECT_EQ(snapped.seqs(1).channel().id(), "gone");
  EXPECT_EQ(snapped.seqs(1).reason(), REASON_CODE_NOT_FOUND);
  EXPECT_EQ(snapped.seqs(1).message(), "user alice has no conversation with person gone");
  EXPECT_EQ(snapped.seqs(2).channel().id(), "carol");
  EXPECT_EQ(snapped.seqs(2).max_seq(), 9);
  EXPECT_EQ(snapped.seqs(2).reason(), REASON_CODE_SUCCESS);

  EXPECT_EQ(conversations_.Calls(),
            (std::vector<std::string>{
                "im.conversation.v1.SyncRequest uid: \"alice\" cursor: \"c1\" limit: 50 "
                "msg_count: 2 only_unread: true exclude_channel_types: CHANNEL_TYPE_GROUP",
                "im.conversation.v1.GetChannelSeqsRequest uid: \"alice\" channels { id: \"bob\" "
                "type: CHANNEL_TYPE_PERSON } channels { id: \"gone\" type: CHANNEL_TYPE_PERSON } "
                "channels { id: \"carol\" type: CHANNEL_TYPE_PERSON }",
            }));
}

TEST_F(RequestHandlerTest, FailuresMapToReasonCodes) {
  const std::vector<std::pair<grpc::Status, ReasonCode>> cases = {
      {grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad cursor"),
       REASON_CODE_INVALID_ARGUMENT},
      {grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), REASON_CODE_UNAVAILABLE},
      {grpc::Status(grpc::StatusCode::NOT_FOUND, "no such conversation"), REASON_CODE_NOT_FOUND},
      {grpc::Status(grpc::StatusCode::INTERNAL, "bug"), REASON_CODE_INTERNAL},
  };
  for (const auto& [status, reason] : cases) {
    {
      std::lock_guard<std::mutex> lock(conversations_.mu);
      conversations_.failure = status;
    }
    for (Frame& request : EveryConversationRequest("")) {
      const Frame answer = Answer(std::move(request));
      EXPECT_EQ(ReasonOf(answer), reason) << answer.ShortDebugString();
    }
    Frame sync;
    sync.mutable_sync_conversations_request();
    const Frame answer = Answer(sync);
    EXPECT_EQ(answer.sync_conversations_response().message(), status.error_message());
    EXPECT_EQ(answer.sync_conversations_response().conversations_size(), 0);
  }
}

// The reason a service attached to its refusal (here NOT_SUBSCRIBER, which the message service
// gives a uid that is not a subscriber and the conversation service relays) reaches the client
// with the refusal's own words, whatever the request; a bare PERMISSION_DENIED stays that.
TEST_F(RequestHandlerTest, AReasonTheServiceAttachedReachesTheClient) {
  const absl::Status refused =
      WithReason(absl::PermissionDeniedError("alice is not a subscriber of group team"),
                 REASON_CODE_NOT_SUBSCRIBER);
  {
    std::lock_guard<std::mutex> lock(conversations_.mu);
    conversations_.failure = ToGrpcStatus(refused);
  }
  for (Frame& request : EveryConversationRequest("")) {
    const Frame answer = Answer(std::move(request));
    EXPECT_EQ(ReasonOf(answer), REASON_CODE_NOT_SUBSCRIBER) << answer.ShortDebugString();
    EXPECT_NE(answer.ShortDebugString().find("\"alice is not a subscriber of group team\""),
              std::string::npos)
        << answer.ShortDebugString();
  }
  {
    std::lock_guard<std::mutex> lock(conversations_.mu);
    conversations_.failure = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not yours");
  }
  for (Frame& request : EveryConversationRequest("")) {
    EXPECT_EQ(ReasonOf(Answer(std::move(request))), REASON_CODE_PERMISSION_DENIED);
  }

  Frame set;
  set.mutable_extension_set_request()->mutable_channel()->set_type(CHANNEL_TYPE_GROUP);
  set.mutable_extension_set_request()->mutable_channel()->set_id("team");
  set.mutable_extension_set_request()->set_message_id(1);
  {
    std::lock_guard<std::mutex> lock(extensions_.mu);
    extensions_.set_failure = refused;
  }
  const Frame answer = Answer(set);
  EXPECT_EQ(answer.extension_set_response().reason(), REASON_CODE_NOT_SUBSCRIBER);
  EXPECT_EQ(answer.extension_set_response().message(), "alice is not a subscriber of group team");
}

TEST_F(RequestHandlerTest, ASlowServiceIsADeadlineExceeded) {
  conversations_.delay = std::chrono::milliseconds(800);
  Frame snapshot;
  snapshot.mutable_seq_snapshot_request();
  EXPECT_EQ(Answer(snapshot).seq_snapshot_response().reason(), REASON_CODE_DEADLINE_EXCEEDED);
}

TEST_F(RequestHandlerTest, SeqSubscribeSetsTheConnectionsMode) {
  using im::client::v1::SeqSubscribeMode;
  EXPECT_FALSE(conn_->seq_only());
  auto subscribe = [&](int mode) {
    Frame request;
    request.mutable_seq_subscribe_request()->set_mode(static_cast<SeqSubscribeMode>(mode));
    return Answer(request, Encoding::kJson).seq_subscribe_response();
  };
  im::client::v1::SeqSubscribeResponse response =
      subscribe(im::client::v1::SEQ_SUBSCRIBE_MODE_SEQ_ONLY);
  EXPECT_EQ(response.reason(), REASON_CODE_SUCCESS);
  EXPECT_EQ(response.mode(), im::client::v1::SEQ_SUBSCRIBE_MODE_SEQ_ONLY);
  EXPECT_TRUE(conn_->seq_only());

  response = subscribe(99);
  EXPECT_EQ(response.reason(), REASON_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(response.mode(), im::client::v1::SEQ_SUBSCRIBE_MODE_SEQ_ONLY) << "the mode stays";
  EXPECT_TRUE(conn_->seq_only());

  response = subscribe(im::client::v1::SEQ_SUBSCRIBE_MODE_UNSPECIFIED);
  EXPECT_EQ(response.reason(), REASON_CODE_SUCCESS);
  EXPECT_EQ(response.mode(), im::client::v1::SEQ_SUBSCRIBE_MODE_FULL) << "unspecified is FULL";
  EXPECT_FALSE(conn_->seq_only());
}

// Without --client_cmds a client's sync_once SEND is refused at the gateway; the message service
// (not registered here) is never called, so an answer at all shows no call was made.
TEST_F(RequestHandlerTest, AClientsCmdIsRefusedByDefault) {
  Frame send;
  send.mutable_send()->set_client_msg_no("c1");
  *send.mutable_send()->mutable_channel() = Person("bob");
  send.mutable_send()->mutable_flags()->set_sync_once(true);
  send.mutable_send()->add_recipient_uids("mallory");
  const Frame answer = Answer(send);
  ASSERT_TRUE(answer.has_sendack()) << answer.ShortDebugString();
  EXPECT_EQ(answer.sendack().reason(), REASON_CODE_PERMISSION_DENIED);
  EXPECT_EQ(answer.sendack().client_msg_no(), "c1");
  EXPECT_NE(answer.sendack().message().find("--client_cmds"), std::string::npos);
  EXPECT_EQ(metrics_.send_seconds->Collect().histogram.sample_count, 0u)
      << "only sends handed to the batcher are timed";
}

// A send handed to the batcher is timed to its SENDACK, whatever the message service answered
// (here it is not registered at all).
TEST_F(RequestHandlerTest, ASendIsTimedFromTheBatcherToItsAck) {
  Frame send;
  send.mutable_send()->set_client_msg_no("c2");
  *send.mutable_send()->mutable_channel() = Person("bob");
  const Frame answer = Answer(send);
  ASSERT_TRUE(answer.has_sendack()) << answer.ShortDebugString();
  EXPECT_NE(answer.sendack().reason(), REASON_CODE_SUCCESS);
  EXPECT_EQ(metrics_.send_seconds->Collect().histogram.sample_count, 1u);
}

TEST_F(RequestHandlerTest, CmdRequestsActAsTheConnectionsDevice) {
  Frame sync;
  sync.mutable_cmd_sync_request()->set_after(4);
  sync.mutable_cmd_sync_request()->set_limit(2);
  const Frame synced = Answer(sync, Encoding::kJson);
  ASSERT_TRUE(synced.has_cmd_sync_response()) << synced.ShortDebugString();
  EXPECT_EQ(synced.cmd_sync_response().reason(), REASON_CODE_SUCCESS);
  ASSERT_EQ(synced.cmd_sync_response().entries_size(), 2);
  EXPECT_EQ(synced.cmd_sync_response().entries(0).cmd_seq(), 5);
  EXPECT_TRUE(synced.cmd_sync_response().has_more());

  Frame ack;
  ack.mutable_cmd_ack_request()->set_up_to(6);
  const Frame acked = Answer(ack);
  ASSERT_TRUE(acked.has_cmd_ack_response()) << acked.ShortDebugString();
  EXPECT_EQ(acked.cmd_ack_response().reason(), REASON_CODE_SUCCESS);

  ack.mutable_cmd_ack_request()->set_up_to(11);
  const Frame refused = Answer(ack);
  ASSERT_TRUE(refused.has_cmd_ack_response());
  EXPECT_EQ(refused.cmd_ack_response().reason(), REASON_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(refused.cmd_ack_response().message(), "up_to above last");

  EXPECT_EQ(cmds_.Calls(),
            (std::vector<std::string>{R"(uid: "alice" device_id: "phone" after: 4 limit: 2)",
                                      R"(uid: "alice" device_id: "phone" up_to: 6)",
                                      R"(uid: "alice" device_id: "phone" up_to: 11)"}));
  EXPECT_TRUE(conversations_.Calls().empty());
}

TEST_F(RequestHandlerTest, ExtensionSetActsAsTheConnectionFromAClient) {
  Frame request;
  im::client::v1::ExtensionSetRequest* set = request.mutable_extension_set_request();
  *set->mutable_channel() = Person("bob");
  set->set_message_id(99);
  set->set_status(3);
  set->set_ext(R"({"a":1})");
  set->set_mode(ext::SET_MODE_MERGE_PATCH);
  set->set_expected_version(40);
  Frame answer = Answer(request, Encoding::kJson);
  ASSERT_TRUE(answer.has_extension_set_response()) << answer.ShortDebugString();
  EXPECT_EQ(answer.extension_set_response().reason(), REASON_CODE_SUCCESS);
  EXPECT_TRUE(answer.extension_set_response().applied());
  EXPECT_EQ(answer.extension_set_response().value().version(), 41);
  {
    std::lock_guard<std::mutex> lock(extensions_.mu);
    ASSERT_EQ(extensions_.sets.size(), 1u);
    const ext::SetRequest& forwarded = extensions_.sets[0];
    EXPECT_EQ(forwarded.operator_uid(), "alice");
    EXPECT_TRUE(forwarded.from_client());
    EXPECT_FALSE(forwarded.has_timestamp());
    EXPECT_EQ(forwarded.channel().id(), "bob");
    EXPECT_EQ(forwarded.message_id(), 99u);
    EXPECT_EQ(forwarded.status(), 3);
    EXPECT_EQ(forwarded.ext(), R"({"a":1})");
    EXPECT_EQ(forwarded.mode(), ext::SET_MODE_MERGE_PATCH);
    EXPECT_EQ(forwarded.expected_version(), 40);
    extensions_.set_failure = absl::FailedPreconditionError("stale");
  }
  answer = Answer(request);
  ASSERT_TRUE(answer.has_extension_set_response());
  EXPECT_EQ(answer.extension_set_response().reason(), REASON_CODE_FAILED_PRECONDITION);
  EXPECT_EQ(answer.extension_set_response().value().version(), 41) << "the current value";
  EXPECT_FALSE(answer.extension_set_response().applied());
  {
    std::lock_guard<std::mutex> lock(extensions_.mu);
    extensions_.set_failure = absl::PermissionDeniedError("not allowed");
  }
  answer = Answer(request);
  EXPECT_EQ(answer.extension_set_response().reason(), REASON_CODE_PERMISSION_DENIED);
  EXPECT_EQ(answer.extension_set_response().message(), "not allowed");
  EXPECT_FALSE(answer.extension_set_response().has_value());
}

TEST_F(RequestHandlerTest, ExtensionSyncReadsAsTheConnection) {
  Frame request;
  im::client::v1::ExtensionSyncRequest* sync = request.mutable_extension_sync_request();
  sync->mutable_channel()->set_type(CHANNEL_TYPE_GROUP);
  sync->mutable_channel()->set_id("team");
  sync->set_since_version(4);
  sync->set_limit(10);
  Frame answer = Answer(request);
  ASSERT_TRUE(answer.has_extension_sync_response());
  const im::client::v1::ExtensionSyncResponse& out = answer.extension_sync_response();
  EXPECT_EQ(out.reason(), REASON_CODE_SUCCESS);
  ASSERT_EQ(out.values_size(), 1);
  EXPECT_TRUE(out.has_more());
  EXPECT_EQ(out.latest_version(), 5);
  {
    std::lock_guard<std::mutex> lock(extensions_.mu);
    ASSERT_EQ(extensions_.syncs.size(), 1u);
    EXPECT_EQ(extensions_.syncs[0].uid(), "alice");
    EXPECT_EQ(extensions_.syncs[0].since_version(), 4);
    EXPECT_EQ(extensions_.syncs[0].limit(), 10u);
    extensions_.sync_failure = ToGrpcStatus(
        WithReason(absl::PermissionDeniedError("alice is not a subscriber of group team"),
                   REASON_CODE_NOT_SUBSCRIBER));
  }
  answer = Answer(request);
  EXPECT_EQ(answer.extension_sync_response().reason(), REASON_CODE_NOT_SUBSCRIBER);
  EXPECT_EQ(answer.extension_sync_response().message(), "alice is not a subscriber of group team");
  {
    std::lock_guard<std::mutex> lock(extensions_.mu);
    extensions_.sync_failure = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not allowed");
  }
  answer = Answer(request);
  EXPECT_EQ(answer.extension_sync_response().reason(), REASON_CODE_PERMISSION_DENIED)
      << "only the reason the service attached makes a refusal NOT_SUBSCRIBER";
}

// Every body of Frame is either a request the table serves or one only servers send: a request
// added to the protocol but not to the table would answer BAD_FRAME, and this names it.
TEST_F(RequestHandlerTest, EveryBodyIsAServedRequestOrServerOnly) {
  const google::protobuf::OneofDescriptor* body = Frame::descriptor()->FindOneofByName("body");
  ASSERT_NE(body, nullptr);
  for (int i = 0; i < body->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = body->field(i);
    const auto body_case = static_cast<Frame::BodyCase>(field->number());
    if (body_case == Frame::kConnect || body_case == Frame::kDisconnect) continue;
    const bool request = absl::EndsWith(field->name(), "_request") || body_case == Frame::kSend ||
                         body_case == Frame::kRecvack || body_case == Frame::kPing;
    EXPECT_EQ(RequestHandler::IsClientRequest(body_case), request) << field->name();
    if (request) continue;
    Frame frame;
    frame.GetReflection()->MutableMessage(&frame, field);
    const Frame answer = Answer(std::move(frame));
    EXPECT_EQ(answer.error().reason(), REASON_CODE_BAD_FRAME) << field->name();
  }
}

// A frame that decodes but has no body is a client bug the answer names, with its request_id.
TEST_F(RequestHandlerTest, AFrameWithoutABodyIsABadFrameThatEchoesItsId) {
  const Frame answer = Answer(Frame());
  EXPECT_EQ(answer.error().reason(), REASON_CODE_BAD_FRAME);
  EXPECT_EQ(answer.error().message(), "frame has no body");
}

// A refused request gets its own typed response (X_request -> X_response), with the request's id.
TEST(RequestRefusalTest, ARefusalIsTheRequestsTypedResponse) {
  const google::protobuf::OneofDescriptor* body = Frame::descriptor()->FindOneofByName("body");
  for (int i = 0; i < body->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = body->field(i);
    const auto body_case = static_cast<Frame::BodyCase>(field->number());
    if (!RequestHandler::IsClientRequest(body_case)) continue;
    Frame request;
    request.set_request_id("r7");
    request.GetReflection()->MutableMessage(&request, field);
    if (body_case == Frame::kSend) request.mutable_send()->set_client_msg_no("m1");
    const Frame answer =
        RequestHandler::RefusalFor(request, REASON_CODE_RATE_LIMITED, "rate limited");
    EXPECT_EQ(answer.request_id(), "r7") << field->name();
    std::string expected = "error";
    if (absl::EndsWith(field->name(), "_request")) {
      expected = absl::StrCat(absl::StripSuffix(field->name(), "_request"), "_response");
    } else if (body_case == Frame::kSend) {
      expected = "sendack";
      EXPECT_EQ(answer.sendack().client_msg_no(), "m1");
    }
    const google::protobuf::FieldDescriptor* answered =
        Frame::descriptor()->FindFieldByNumber(static_cast<int>(answer.body_case()));
    ASSERT_NE(answered, nullptr) << field->name();
    EXPECT_EQ(answered->name(), expected) << field->name();
    const google::protobuf::Message& typed = answer.GetReflection()->GetMessage(answer, answered);
    const google::protobuf::FieldDescriptor* reason =
        typed.GetDescriptor()->FindFieldByName("reason");
    ASSERT_NE(reason, nullptr) << answered->name();
    EXPECT_EQ(typed.GetReflection()->GetEnumValue(typed, reason), REASON_CODE_RATE_LIMITED)
        << answered->name();
  }
}

}  // namespace
}  // namespace im::gateway
