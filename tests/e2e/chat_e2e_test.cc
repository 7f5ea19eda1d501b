// The message path end to end: real sequence, message and two gateway processes, real WebSocket
// clients. One suite serves every test here; each test uses its own uids and groups.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/suite_fixture.h"

namespace im {
namespace {

namespace common = im::common::v1;
using client::Encoding;
using client::GroupChannel;
using client::PersonChannel;
using testing::NextRecv;
using testing::RecvsWithin;
using testing::UniqueName;

struct TwoGateways {
  static testing::SuiteOptions Options() {
    return {.gateways = 2, .gateway_env = {}, .extension_env = {}};
  }
};
class ChatTest : public testing::SuiteTest<TwoGateways> {};

// The connection's next push is DISCONNECT(KICKED), and the server then closes it.
void ExpectKickedAndClosed(client::ImClient& client) {
  std::optional<client::Frame> frame = testing::NextFrame(client, absl::Seconds(5));
  ASSERT_TRUE(frame.has_value()) << "no DISCONNECT; closed: " << client.close_reason();
  ASSERT_TRUE(frame->has_disconnect()) << frame->ShortDebugString();
  EXPECT_EQ(frame->disconnect().reason(), common::REASON_CODE_KICKED);
  EXPECT_TRUE(client.WaitClosed(absl::Seconds(5)));
}

void ExpectSameMessage(const common::Message& got, const client::SendAck& ack) {
  EXPECT_EQ(got.message_id(), ack.message_id());
  EXPECT_EQ(got.message_seq(), ack.message_seq());
}

TEST_F(ChatTest, OneToOneReachesPeerAndSendersOtherDevice) {
  const std::string alice = UniqueName("alice");
  const std::string bob = UniqueName("bob");
  auto alice_phone = suite_->Login(alice, "phone");
  // Another device flag, so the default policy (one device per flag) keeps both.
  auto alice_web = suite_->Login(alice, "browser", 0, Encoding::kBinary, common::DEVICE_FLAG_WEB);
  auto bob_phone = suite_->Login(bob, "phone");

  absl::StatusOr<client::SendAck> ack = alice_phone->Send(PersonChannel(bob), "m1", "hello bob");
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  EXPECT_NE(ack->message_id(), 0u);
  EXPECT_GT(ack->message_seq(), 0);
  EXPECT_EQ(ack->client_msg_no(), "m1");

  std::optional<common::Message> at_bob = NextRecv(*bob_phone);
  ASSERT_TRUE(at_bob.has_value()) << "bob got no RECV";
  ExpectSameMessage(*at_bob, *ack);
  EXPECT_EQ(at_bob->from_uid(), alice);
  EXPECT_EQ(at_bob->payload(), "hello bob");
  EXPECT_EQ(at_bob->channel().id(), alice) << "bob sees the chat under alice's uid";
  EXPECT_EQ(at_bob->channel().type(), common::CHANNEL_TYPE_PERSON);

  std::optional<common::Message> at_alice_web = NextRecv(*alice_web);
  ASSERT_TRUE(at_alice_web.has_value()) << "alice's second device got no RECV";
  ExpectSameMessage(*at_alice_web, *ack);
  EXPECT_EQ(at_alice_web->channel().id(), bob) << "alice sees the chat under bob's uid";

  EXPECT_TRUE(RecvsWithin(*alice_phone, absl::Milliseconds(500)).empty())
      << "the sending device gets a SENDACK, not a RECV";

  // Bob answers; history as each side sees it holds both, in order.
  ack = bob_phone->Send(PersonChannel(alice), "m1", "hi alice");
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  std::optional<common::Message> at_alice = NextRecv(*alice_phone);
  ASSERT_TRUE(at_alice.has_value());
  ExpectSameMessage(*at_alice, *ack);
  std::vector<common::Message> history = suite_->History(alice, PersonChannel(bob));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].payload(), "hello bob");
  EXPECT_EQ(history[1].payload(), "hi alice");
  EXPECT_LT(history[0].message_seq(), history[1].message_seq());
}

// DESIGN.md invariant 7: live pushes and an offline member's sync, both in seq order.
TEST_F(ChatTest, PerChannelOrderHoldsLiveAndBySyncInAGroup) {
  const std::string a = UniqueName("ann");
  const std::string b = UniqueName("ben");
  const std::string c = UniqueName("cat");
  const std::string group = UniqueName("group");
  suite_->CreateGroup(group, {a, b, c});
  auto ann = suite_->Login(a, "phone");
  auto ben = suite_->Login(b, "phone", 1);

  constexpr int kEach = 6;
  std::vector<client::SendAck> acks;
  for (int i = 0; i < kEach; ++i) {
    for (auto* sender : {ann.get(), ben.get()}) {
      absl::StatusOr<client::SendAck> ack =
          sender->Send(GroupChannel(group), absl::StrCat("n", i), absl::StrCat("msg ", i));
      ASSERT_TRUE(ack.ok()) << ack.status();
      ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
      acks.push_back(*ack);
    }
  }
  // Each online member gets the other's messages live, in seq order.
  const std::vector<std::pair<client::ImClient*, int>> members = {{ann.get(), 1}, {ben.get(), 0}};
  for (const auto& [member, other_index] : members) {
    int64_t last_seq = 0;
    for (int i = 0; i < kEach; ++i) {
      std::optional<common::Message> got = NextRecv(*member);
      ASSERT_TRUE(got.has_value()) << "RECV " << i << " missing";
      EXPECT_EQ(got->channel().id(), group);
      EXPECT_EQ(got->channel().type(), common::CHANNEL_TYPE_GROUP);
      EXPECT_GT(got->message_seq(), last_seq);
      last_seq = got->message_seq();
      ExpectSameMessage(*got, acks[2 * i + other_index]);
    }
  }

  // Cat was offline throughout: she connects and pages through the channel with a small limit.
  auto cat = suite_->Login(c, "phone");
  std::vector<common::Message> synced;
  int64_t start = 0;
  for (int page = 0; page < 10; ++page) {
    client::SyncChannelMessagesRequest request;
    *request.mutable_channel() = GroupChannel(group);
    request.set_start_seq(start);
    request.set_limit(5);
    absl::StatusOr<client::SyncChannelMessagesResponse> response =
        cat->SyncChannelMessages(request);
    ASSERT_TRUE(response.ok()) << response.status();
    ASSERT_EQ(response->reason(), common::REASON_CODE_SUCCESS) << response->message();
    for (const common::Message& message : response->messages()) {
      EXPECT_GE(message.message_seq(), response->covered().start_seq());
      EXPECT_LE(message.message_seq(), response->covered().end_seq());
    }
    synced.insert(synced.end(), response->messages().begin(), response->messages().end());
    if (!response->has_more()) break;
    start = response->covered().end_seq() + 1;
  }
  ASSERT_EQ(synced.size(), acks.size());
  std::set<uint64_t> ids;
  for (size_t i = 0; i < synced.size(); ++i) {
    ids.insert(synced[i].message_id());
    if (i > 0) {
      EXPECT_EQ(synced[i].message_seq(), synced[i - 1].message_seq() + 1) << "gap or duplicate";
    }
    // Sends were sequential, so seq order is send order.
    ExpectSameMessage(synced[i], acks[i]);
  }
  EXPECT_EQ(ids.size(), acks.size()) << "duplicates in sync";
  EXPECT_TRUE(RecvsWithin(*cat, absl::Milliseconds(300)).empty())
      << "messages sent before connecting come by sync, not RECV";
}

TEST_F(ChatTest, UsersOnTwoGatewaysChatBothWays) {
  const std::string alice = UniqueName("alice");
  const std::string bob = UniqueName("bob");
  auto alice_phone = suite_->Login(alice, "phone", 0);
  auto bob_phone = suite_->Login(bob, "phone", 1);

  for (int round = 0; round < 3; ++round) {
    absl::StatusOr<client::SendAck> ack =
        alice_phone->Send(PersonChannel(bob), absl::StrCat("a", round), "ping from gateway 0");
    ASSERT_TRUE(ack.ok()) << ack.status();
    ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
    std::optional<common::Message> got = NextRecv(*bob_phone);
    ASSERT_TRUE(got.has_value()) << "bob on gateway 1 got nothing";
    ExpectSameMessage(*got, *ack);

    ack = bob_phone->Send(PersonChannel(alice), absl::StrCat("b", round), "pong from gateway 1");
    ASSERT_TRUE(ack.ok()) << ack.status();
    ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
    got = NextRecv(*alice_phone);
    ASSERT_TRUE(got.has_value()) << "alice on gateway 0 got nothing";
    ExpectSameMessage(*got, *ack);
    EXPECT_EQ(got->channel().id(), bob);
  }
}

TEST_F(ChatTest, BusinessServerSendAsSystemIsStoredAndDeliveredLive) {
  const std::string alice = UniqueName("alice");
  const std::string bob = UniqueName("bob");
  const std::string group = UniqueName("group");
  suite_->CreateGroup(group, {alice, bob});
  auto alice_phone = suite_->Login(alice, "phone", 0);
  auto bob_phone = suite_->Login(bob, "phone", 1);

  im::message::v1::SendResult result =
      suite_->ApiSend("system", GroupChannel(group), "notice-1", "welcome");
  ASSERT_EQ(result.reason(), common::REASON_CODE_SUCCESS) << result.message();
  EXPECT_GT(result.message_seq(), 0);
  for (auto* member : {alice_phone.get(), bob_phone.get()}) {
    std::optional<common::Message> got = NextRecv(*member);
    ASSERT_TRUE(got.has_value()) << "a member got no RECV of the system message";
    EXPECT_EQ(got->message_id(), result.message_id());
    EXPECT_EQ(got->message_seq(), result.message_seq());
    EXPECT_EQ(got->from_uid(), "system");
    EXPECT_EQ(got->payload(), "welcome");
  }
  std::vector<common::Message> history = suite_->History(alice, GroupChannel(group));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].message_id(), result.message_id());
  EXPECT_EQ(history[0].from_uid(), "system");

  // A system chat with one user: a PERSON channel the user sees under "system".
  result = suite_->ApiSend("system", PersonChannel(alice), "notice-2", "just for you");
  ASSERT_EQ(result.reason(), common::REASON_CODE_SUCCESS) << result.message();
  std::optional<common::Message> got = NextRecv(*alice_phone);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->message_id(), result.message_id());
  EXPECT_EQ(got->channel().id(), "system");
  EXPECT_EQ(got->channel().type(), common::CHANNEL_TYPE_PERSON);
  history = suite_->History(alice, PersonChannel("system"));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].payload(), "just for you");
  EXPECT_TRUE(RecvsWithin(*bob_phone, absl::Milliseconds(300)).empty());
}

// DESIGN.md invariant 4.
TEST_F(ChatTest, IdempotentSendReturnsTheOriginalStoresOnceAndDeliversOnce) {
  const std::string alice = UniqueName("alice");
  const std::string bob = UniqueName("bob");
  auto alice_phone = suite_->Login(alice, "phone");
  auto bob_phone = suite_->Login(bob, "phone");

  absl::StatusOr<client::SendAck> first = alice_phone->Send(PersonChannel(bob), "same", "once");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->reason(), common::REASON_CODE_SUCCESS) << first->message();
  EXPECT_FALSE(first->duplicate());
  // A retry, e.g. after a lost SENDACK; then the same retried twice at once.
  absl::StatusOr<client::SendAck> retry = alice_phone->Send(PersonChannel(bob), "same", "once");
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->reason(), common::REASON_CODE_SUCCESS) << retry->message();
  EXPECT_EQ(retry->message_id(), first->message_id());
  EXPECT_EQ(retry->message_seq(), first->message_seq());
  EXPECT_TRUE(retry->duplicate()) << "the SENDACK says the retry was a duplicate";

  std::vector<absl::StatusOr<client::Frame>> concurrent(2, absl::UnknownError("no answer"));
  std::atomic<int> answered{0};
  for (auto& slot : concurrent) {
    alice_phone->SendAsync(PersonChannel(bob), "same", "once", {},
                           [&slot, &answered](absl::StatusOr<client::Frame> frame) {
                             slot = std::move(frame);
                             ++answered;
                           });
  }
  for (int i = 0; i < 100 && answered < 2; ++i) absl::SleepFor(absl::Milliseconds(50));
  ASSERT_EQ(answered, 2);
  for (const auto& frame : concurrent) {
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_EQ(frame->sendack().message_id(), first->message_id());
    EXPECT_EQ(frame->sendack().message_seq(), first->message_seq());
    EXPECT_TRUE(frame->sendack().duplicate());
  }

  std::vector<common::Message> received = RecvsWithin(*bob_phone, absl::Seconds(1));
  ASSERT_EQ(received.size(), 1u) << "delivered more than once";
  EXPECT_EQ(received[0].message_id(), first->message_id());
  std::vector<common::Message> history = suite_->History(bob, PersonChannel(alice));
  ASSERT_EQ(history.size(), 1u) << "stored more than once";
  EXPECT_EQ(history[0].client_msg_no(), "same");
}

TEST_F(ChatTest, JsonClientAndBinaryClientTalk) {
  const std::string web = UniqueName("web");
  const std::string app = UniqueName("app");
  auto json_client = suite_->Login(web, "browser", 0, Encoding::kJson, common::DEVICE_FLAG_WEB);
  auto binary_client = suite_->Login(app, "phone", 1, Encoding::kBinary);
  // Bytes that are not UTF-8 survive JSON's base64 too.
  const std::string payload("h\xc3\xa9llo \x00\xff", 9);

  absl::StatusOr<client::SendAck> ack = json_client->Send(PersonChannel(app), "j1", payload);
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  std::optional<common::Message> got = NextRecv(*binary_client);
  ASSERT_TRUE(got.has_value()) << "binary client got nothing from the JSON client";
  ExpectSameMessage(*got, *ack);
  EXPECT_EQ(got->payload(), payload);

  ack = binary_client->Send(PersonChannel(web), "b1", payload);
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  got = NextRecv(*json_client);
  ASSERT_TRUE(got.has_value()) << "JSON client got nothing from the binary client";
  ExpectSameMessage(*got, *ack);
  EXPECT_EQ(got->payload(), payload);
  EXPECT_EQ(got->channel().id(), app);
}

// The default multi-device policy: a new device with the same flag replaces the older one, also
// when they are on different gateways.
TEST_F(ChatTest, NewDeviceWithTheSameFlagKicksTheOlderOneAcrossGateways) {
  const std::string alice = UniqueName("alice");
  const std::string bob = UniqueName("bob");
  auto old_phone = suite_->Login(alice, "old-phone", 0);
  auto new_phone = suite_->Login(alice, "new-phone", 1);

  ExpectKickedAndClosed(*old_phone);

  auto bob_phone = suite_->Login(bob, "phone", 0);
  absl::StatusOr<client::SendAck> ack =
      bob_phone->Send(PersonChannel(alice), "k1", "to the new one");
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  std::optional<common::Message> got = NextRecv(*new_phone);
  ASSERT_TRUE(got.has_value()) << "the newer device does not receive";
  ExpectSameMessage(*got, *ack);
}

// A phone that moved to the other gateway while its old socket there still looks open: the old
// connection is closed, and messages reach the new one.
TEST_F(ChatTest, SameDeviceReconnectingToTheOtherGatewayReplacesItsOldConnection) {
  const std::string alice = UniqueName("alice");
  const std::string bob = UniqueName("bob");
  auto old_socket = suite_->Login(alice, "phone", 0);
  auto reconnected = suite_->Login(alice, "phone", 1);

  ExpectKickedAndClosed(*old_socket);
  EXPECT_TRUE(suite_->IsOnline(alice, "phone"))
      << "the old gateway's cleanup removed the new entry";

  auto bob_phone = suite_->Login(bob, "phone", 0);
  absl::StatusOr<client::SendAck> ack = bob_phone->Send(PersonChannel(alice), "r1", "found you");
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  std::optional<common::Message> got = NextRecv(*reconnected);
  ASSERT_TRUE(got.has_value()) << "the reconnected device does not receive";
  ExpectSameMessage(*got, *ack);
}

TEST_F(ChatTest, BusinessServerSeesOnlineDevicesAndKicks) {
  const std::string alice = UniqueName("alice");
  auto phone = suite_->Login(alice, "phone", 1);
  im::gateway::v1::GetOnlineStatusRequest status_request;
  status_request.add_uids(alice);
  const auto online_devices = [&] {
    im::gateway::v1::GetOnlineStatusResponse response;
    grpc::ClientContext context;
    grpc::Status status = suite_->Users(0)->GetOnlineStatus(&context, status_request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.statuses_size() == 1 ? response.statuses(0).devices_size() : -1;
  };
  EXPECT_EQ(online_devices(), 1) << "presence of a device on the other gateway";

  im::gateway::v1::KickRequest kick;
  kick.set_uid(alice);
  kick.set_reason("account suspended");
  im::gateway::v1::KickResponse kicked;
  grpc::ClientContext context;
  ASSERT_TRUE(suite_->Users(0)->Kick(&context, kick, &kicked).ok());
  EXPECT_EQ(kicked.kicked_devices(), 1u);
  std::optional<client::Frame> frame = testing::NextFrame(*phone, absl::Seconds(5));
  ASSERT_TRUE(frame.has_value() && frame->has_disconnect());
  EXPECT_EQ(frame->disconnect().reason(), common::REASON_CODE_KICKED);
  EXPECT_EQ(frame->disconnect().message(), "account suspended");
  EXPECT_TRUE(phone->WaitClosed(absl::Seconds(5)));
  int devices = -1;
  for (int i = 0; i < 50 && devices != 0; ++i) {
    devices = online_devices();
    if (devices != 0) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(devices, 0) << "presence still lists the kicked device";
}

// no_persist: delivered live, no seq, not in history. sync_once (a cmd): pushed as CMD, not in
// history.
TEST_F(ChatTest, NoPersistAndSyncOnceAreDeliveredButNotInHistory) {
  const std::string alice = UniqueName("alice");
  const std::string bob = UniqueName("bob");
  auto alice_phone = suite_->Login(alice, "phone", 0);
  auto bob_phone = suite_->Login(bob, "phone", 1);

  common::MessageFlags no_persist;
  no_persist.set_no_persist(true);
  absl::StatusOr<client::SendAck> ack =
      alice_phone->Send(PersonChannel(bob), "typing", "alice is typing", no_persist);
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  EXPECT_EQ(ack->message_seq(), 0);
  std::optional<common::Message> got = NextRecv(*bob_phone);
  ASSERT_TRUE(got.has_value()) << "no_persist message not delivered";
  EXPECT_EQ(got->message_id(), ack->message_id());
  EXPECT_EQ(got->message_seq(), 0);

  common::MessageFlags sync_once;
  sync_once.set_sync_once(true);
  im::message::v1::SendResult cmd =
      suite_->ApiSend("system", PersonChannel(bob), "cmd-1", "refresh your settings", sync_once);
  ASSERT_EQ(cmd.reason(), common::REASON_CODE_SUCCESS) << cmd.message();
  EXPECT_EQ(cmd.message_seq(), 0);
  std::optional<client::Frame> frame;
  do {
    frame = testing::NextFrame(*bob_phone, absl::Seconds(5));
  } while (frame.has_value() && !frame->has_cmd() && !frame->has_recv());
  ASSERT_TRUE(frame.has_value()) << "sync_once message not pushed";
  ASSERT_TRUE(frame->has_cmd()) << "pushed as " << frame->ShortDebugString();
  EXPECT_EQ(frame->cmd().message().message_id(), cmd.message_id());
  EXPECT_EQ(frame->cmd().message().payload(), "refresh your settings");

  EXPECT_TRUE(suite_->History(bob, PersonChannel(alice)).empty());
  EXPECT_TRUE(suite_->History(bob, PersonChannel("system")).empty());
}

// Gateways started with --multi_device=allow: devices of one flag coexist across gateways.
struct TwoGatewaysAllowingDevicesOfOneFlag {
  static testing::SuiteOptions Options() {
    return {.gateways = 2, .gateway_env = {{"IM_MULTI_DEVICE", "allow"}}, .extension_env = {}};
  }
};
class AllowMultiDeviceTest : public testing::SuiteTest<TwoGatewaysAllowingDevicesOfOneFlag> {};

// The phone moves to the other gateway while the tablet (same flag) stays on the old one: only the
// phone's old connection is closed there (Disconnect names the device), and both devices receive.
TEST_F(AllowMultiDeviceTest, SameDeviceReconnectingElsewhereLeavesOtherDevicesOfItsFlag) {
  const std::string alice = UniqueName("alice");
  const std::string bob = UniqueName("bob");
  auto old_socket = suite_->Login(alice, "phone", 0);
  auto tablet = suite_->Login(alice, "tablet", 0);
  auto reconnected = suite_->Login(alice, "phone", 1);

  ExpectKickedAndClosed(*old_socket);
  EXPECT_TRUE(suite_->IsOnline(alice, "phone"));
  EXPECT_TRUE(suite_->IsOnline(alice, "tablet"));

  auto bob_phone = suite_->Login(bob, "phone", 0);
  absl::StatusOr<client::SendAck> ack = bob_phone->Send(PersonChannel(alice), "a1", "both of you");
  ASSERT_TRUE(ack.ok()) << ack.status();
  ASSERT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  std::optional<common::Message> at_phone = NextRecv(*reconnected);
  ASSERT_TRUE(at_phone.has_value()) << "the reconnected phone does not receive";
  ExpectSameMessage(*at_phone, *ack);
  std::optional<client::Frame> frame = testing::NextFrame(*tablet);
  ASSERT_TRUE(frame.has_value()) << "the tablet got nothing";
  ASSERT_TRUE(frame->has_recv()) << "the tablet got " << frame->ShortDebugString();
  ExpectSameMessage(frame->recv().message(), *ack);
}

}  // namespace
}  // namespace im
