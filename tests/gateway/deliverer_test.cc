// Deliverer's fan-out to the SessionHub's connections, with fake connections that record what they
// are given.
#include "services/gateway/deliverer.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <optional>

#include "services/gateway/session_hub.h"
#include "tests/fakes/fake_connection.h"

namespace im::gateway {
namespace {

using im::client::v1::Frame;
using namespace im::common::v1;

Message PersonMessage(const std::string& from, const std::string& to, int64_t seq) {
  Message message;
  message.set_message_id(1000 + seq);
  message.set_message_seq(seq);
  message.mutable_channel()->set_id(to);
  message.mutable_channel()->set_type(CHANNEL_TYPE_PERSON);
  message.set_from_uid(from);
  message.set_payload("hi");
  return message;
}

class DelivererTest : public ::testing::Test {
 protected:
  SessionHub hub_;
  GatewayMetrics metrics_;
  Deliverer deliverer_{&hub_, &metrics_};
};

TEST_F(DelivererTest, PresentsPersonChannelsToEachRecipientAndSkipsTheSendingDevice) {
  auto bob = Conn("bob", "phone", DEVICE_FLAG_APP, Encoding::kJson);
  auto alice_phone = Conn("alice", "phone", DEVICE_FLAG_APP);
  auto alice_web = Conn("alice", "web", DEVICE_FLAG_WEB);
  for (auto& c : {bob, alice_phone, alice_web}) hub_.Add(c, MultiDevicePolicy::kAllow);

  im::gateway::v1::DeliverRequest request;
  im::gateway::v1::DeliverItem* item = request.add_items();
  *item->mutable_message() = PersonMessage("alice", "bob", 1);
  item->add_recipients()->set_uid("bob");
  item->add_recipients()->set_uid("alice");
  item->add_recipients()->set_uid("offline");
  item->mutable_exclude_device()->set_uid("alice");
  item->mutable_exclude_device()->set_device_id("phone");
  im::gateway::v1::DeliverResponse response;
  deliverer_.Deliver(request, &response);

  ASSERT_EQ(response.results_size(), 1);
  EXPECT_EQ(std::vector<std::string>(response.results(0).online_uids().begin(),
                                     response.results(0).online_uids().end()),
            (std::vector<std::string>{"bob", "alice"}));
  ASSERT_EQ(bob->received.size(), 1u);
  EXPECT_EQ(bob->received[0].recv().message().channel().id(), "alice");
  EXPECT_TRUE(alice_phone->received.empty());
  ASSERT_EQ(alice_web->received.size(), 1u);
  EXPECT_EQ(alice_web->received[0].recv().message().channel().id(), "bob");
  EXPECT_EQ(alice_web->received[0].recv().message().message_seq(), 1);
}

TEST_F(DelivererTest, OneOrderedPushPerConnectionPerRequest) {
  auto carol = Conn("carol", "phone", DEVICE_FLAG_APP);
  hub_.Add(carol, MultiDevicePolicy::kAllow);
  im::gateway::v1::DeliverRequest request;
  for (int seq = 1; seq <= 5; ++seq) {
    im::gateway::v1::DeliverItem* item = request.add_items();
    Message message = PersonMessage("dave", "carol", seq);
    message.mutable_channel()->set_id("team");
    message.mutable_channel()->set_type(CHANNEL_TYPE_GROUP);
    *item->mutable_message() = message;
    item->add_recipients()->set_uid("carol");
  }
  im::gateway::v1::DeliverResponse response;
  deliverer_.Deliver(request, &response);
  EXPECT_EQ(carol->pushes, 1);
  ASSERT_EQ(carol->received.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(carol->received[i].recv().message().message_seq(), i + 1);
    EXPECT_EQ(carol->received[i].recv().message().channel().id(), "team");
  }
}

TEST_F(DelivererTest, SyncOnceBecomesACmdWithTheRecipientsCmdSeq) {
  auto erin = Conn("erin", "phone", DEVICE_FLAG_APP, Encoding::kJson);
  hub_.Add(erin, MultiDevicePolicy::kAllow);
  im::gateway::v1::DeliverRequest request;
  im::gateway::v1::DeliverItem* item = request.add_items();
  Message message = PersonMessage("system", "erin", 0);
  message.mutable_flags()->set_sync_once(true);
  *item->mutable_message() = message;
  im::gateway::v1::Recipient* recipient = item->add_recipients();
  recipient->set_uid("erin");
  recipient->set_cmd_seq(42);
  im::gateway::v1::DeliverResponse response;
  deliverer_.Deliver(request, &response);
  ASSERT_EQ(erin->received.size(), 1u);
  ASSERT_TRUE(erin->received[0].has_cmd());
  EXPECT_EQ(erin->received[0].cmd().cmd_seq(), 42);
  EXPECT_EQ(erin->received[0].cmd().message().channel().id(), "system");
}

im::gateway::v1::DeliverItem MessageItem(const Message& message,
                                         const std::vector<std::string>& recipients) {
  im::gateway::v1::DeliverItem item;
  *item.mutable_message() = message;
  for (const std::string& uid : recipients) item.add_recipients()->set_uid(uid);
  return item;
}

TEST_F(DelivererTest, SeqOnlyConnectionsGetASeqUpdateInsteadOfRecv) {
  auto bob_phone = Conn("bob", "phone", DEVICE_FLAG_APP, Encoding::kJson);
  auto bob_web = Conn("bob", "web", DEVICE_FLAG_WEB);
  auto alice_pad = Conn("alice", "pad", DEVICE_FLAG_APP);
  bob_phone->SetSeqOnly(true);
  alice_pad->SetSeqOnly(true);
  for (auto& c : {bob_phone, bob_web, alice_pad}) hub_.Add(c, MultiDevicePolicy::kAllow);

  Message message = PersonMessage("alice", "bob", 7);
  message.set_timestamp(1700000000123);
  im::gateway::v1::DeliverRequest request;
  *request.add_items() = MessageItem(message, {"bob", "alice"});
  im::gateway::v1::DeliverResponse response;
  deliverer_.Deliver(request, &response);

  ASSERT_EQ(bob_phone->received.size(), 1u);
  ASSERT_TRUE(bob_phone->received[0].has_seq_update());
  const im::conversation::v1::SeqUpdate& update = bob_phone->received[0].seq_update();
  EXPECT_EQ(update.channel().id(), "alice") << "the channel as the recipient sees it";
  EXPECT_EQ(update.channel().type(), CHANNEL_TYPE_PERSON);
  EXPECT_EQ(update.max_seq(), 7);
  EXPECT_EQ(update.last_message_time(), 1700000000123);
  EXPECT_FALSE(update.has_read_seq());
  EXPECT_FALSE(update.has_unread());
  ASSERT_EQ(bob_web->received.size(), 1u);
  EXPECT_EQ(bob_web->received[0].recv().message().message_seq(), 7) << "FULL is the default";
  ASSERT_EQ(alice_pad->received.size(), 1u);
  EXPECT_EQ(alice_pad->received[0].seq_update().channel().id(), "bob");
}

TEST_F(DelivererTest, SeqOnlySkipsNoPersistAndKeepsCmdsAndExtensionChanges) {
  auto carol = Conn("carol", "phone", DEVICE_FLAG_APP);
  carol->SetSeqOnly(true);
  hub_.Add(carol, MultiDevicePolicy::kAllow);

  im::gateway::v1::DeliverRequest request;
  Message live = PersonMessage("dave", "carol", 0);
  live.mutable_flags()->set_no_persist(true);
  *request.add_items() = MessageItem(live, {"carol"});
  Message cmd = PersonMessage("dave", "carol", 0);
  cmd.mutable_flags()->set_sync_once(true);
  im::gateway::v1::DeliverItem* cmd_item = request.add_items();
  *cmd_item = MessageItem(cmd, {});
  im::gateway::v1::Recipient* recipient = cmd_item->add_recipients();
  recipient->set_uid("carol");
  recipient->set_cmd_seq(5);
  im::gateway::v1::DeliverItem* ext = request.add_items();
  ext->mutable_extension_changed()->mutable_channel()->set_id("team");
  ext->add_recipients()->set_uid("carol");
  im::gateway::v1::DeliverResponse response;
  deliverer_.Deliver(request, &response);

  ASSERT_EQ(carol->received.size(), 2u);
  ASSERT_TRUE(carol->received[0].has_cmd());
  EXPECT_EQ(carol->received[0].cmd().cmd_seq(), 5);
  EXPECT_EQ(carol->received[0].cmd().message().channel().id(), "dave");
  EXPECT_TRUE(carol->received[1].has_extension_changed());
  ASSERT_EQ(response.results_size(), 3);
  EXPECT_EQ(response.results(0).online_uids_size(), 0) << "nothing was queued for the no_persist";
  EXPECT_EQ(response.results(1).online_uids_size(), 1);
}

TEST_F(DelivererTest, ASeqUpdateGoesToEveryConnectionButTheExcludedDevice) {
  auto phone = Conn("erin", "phone", DEVICE_FLAG_APP);
  auto web = Conn("erin", "web", DEVICE_FLAG_WEB, Encoding::kJson);
  auto pad = Conn("erin", "pad", DEVICE_FLAG_APP);
  pad->SetSeqOnly(true);
  for (auto& c : {phone, web, pad}) hub_.Add(c, MultiDevicePolicy::kAllow);

  im::gateway::v1::DeliverRequest request;
  im::gateway::v1::DeliverItem* item = request.add_items();
  item->add_recipients()->set_uid("erin");
  item->mutable_exclude_device()->set_uid("erin");
  item->mutable_exclude_device()->set_device_id("phone");
  im::conversation::v1::SeqUpdate* update = item->mutable_seq_update();
  *update->mutable_channel() = PersonMessage("frank", "erin", 1).channel();
  update->mutable_channel()->set_id("frank");
  update->set_read_seq(12);
  update->set_unread(0);
  im::gateway::v1::DeliverResponse response;
  deliverer_.Deliver(request, &response);

  EXPECT_TRUE(phone->received.empty()) << "the device that read";
  for (const auto& conn : {web, pad}) {
    ASSERT_EQ(conn->received.size(), 1u) << conn->info().device_id;
    const im::conversation::v1::SeqUpdate& got = conn->received[0].seq_update();
    EXPECT_EQ(got.channel().id(), "frank");
    EXPECT_EQ(got.read_seq(), 12);
    EXPECT_TRUE(got.has_unread());
    EXPECT_FALSE(got.has_max_seq());
  }
}

TEST_F(DelivererTest, SeqOnlyKeepsOrderAndSharesEncodings) {
  auto gina = Conn("gina", "phone", DEVICE_FLAG_APP);
  auto hank = Conn("hank", "phone", DEVICE_FLAG_APP);
  auto ivan = Conn("ivan", "phone", DEVICE_FLAG_APP);
  gina->SetSeqOnly(true);
  hank->SetSeqOnly(true);
  for (auto& c : {gina, hank, ivan}) hub_.Add(c, MultiDevicePolicy::kAllow);

  im::gateway::v1::DeliverRequest request;
  for (int seq = 1; seq <= 3; ++seq) {
    Message message = PersonMessage("ivan", "team", seq);
    message.mutable_channel()->set_type(CHANNEL_TYPE_GROUP);
    *request.add_items() = MessageItem(message, {"gina", "hank", "ivan"});
    im::gateway::v1::DeliverItem* read = request.add_items();
    read->add_recipients()->set_uid("gina");
    read->mutable_seq_update()->mutable_channel()->set_id("team");
    read->mutable_seq_update()->set_read_seq(seq);
  }
  im::gateway::v1::DeliverResponse response;
  deliverer_.Deliver(request, &response);

  EXPECT_EQ(gina->pushes, 1);
  ASSERT_EQ(gina->received.size(), 6u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(gina->received[2 * i].seq_update().max_seq(), i + 1);
    EXPECT_EQ(gina->received[2 * i + 1].seq_update().read_seq(), i + 1);
  }
  ASSERT_EQ(hank->received.size(), 3u);
  ASSERT_EQ(ivan->received.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(hank->data[i], gina->data[2 * i]) << "a group's SEQ_UPDATE is encoded once";
    EXPECT_EQ(ivan->received[i].recv().message().message_seq(), i + 1);
  }
}

}  // namespace
}  // namespace im::gateway
