// Fan-out after commit: one Deliver per gateway per batch, carrying every item in seq order with
// the recipients that gateway holds and the sender's device excluded.
#include <map>

#include "services/message/notifications.h"
#include "tests/message/message_fixture.h"

namespace im::message {
namespace {

class MessageFanoutTest : public MessageFixture {
 protected:
  void Online(const std::string& uid, const std::string& device, const testing::FakeGateway& gw) {
    ASSERT_TRUE(
        presence_
            ->Register({gateway::PresenceEntry{
                .uid = uid, .device_id = device, .device_flag = 1, .gateway = gw.address()}})
            .ok());
  }

  // The uids of one DeliverItem.
  static std::set<std::string> Uids(const im::gateway::v1::DeliverItem& item) {
    std::set<std::string> uids;
    for (const auto& recipient : item.recipients()) uids.insert(recipient.uid());
    return uids;
  }
};

TEST_F(MessageFanoutTest, OneDeliverPerGatewayPerBatch) {
  testing::FakeGateway gw1, gw2;
  const std::string sender = testing::UniqueName("s"), b = testing::UniqueName("b"),
                    c = testing::UniqueName("c"), offline = testing::UniqueName("off");
  const std::string group = NewGroup({sender, b, c, offline});
  Online(sender, "phone", gw1);   // the sending device
  Online(sender, "laptop", gw2);  // the sender's other device gets the messages
  Online(b, "d1", gw1);
  Online(c, "d1", gw2);

  std::vector<v1::SendItem> items;
  for (int i = 0; i < 5; ++i) {
    v1::SendItem item = Item(sender, Group(group), absl::StrCat("m", i));
    item.set_from_device_id("phone");
    items.push_back(item);
  }
  const std::vector<v1::SendResult> results = Send(items);
  for (const v1::SendResult& r : results)
    ASSERT_EQ(r.reason(), im::common::v1::REASON_CODE_SUCCESS);

  const auto calls1 = gw1.WaitForCalls(1, absl::Seconds(5));
  const auto calls2 = gw2.WaitForCalls(1, absl::Seconds(5));
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_EQ(gw1.Calls().size(), 1u);
  ASSERT_EQ(gw2.Calls().size(), 1u);
  ASSERT_EQ(calls1[0].items_size(), 5);
  ASSERT_EQ(calls2[0].items_size(), 5);
  for (int i = 0; i < 5; ++i) {
    const auto& item1 = calls1[0].items(i);
    const auto& item2 = calls2[0].items(i);
    EXPECT_EQ(item1.message().message_seq(), results[i].message_seq());
    EXPECT_EQ(item1.message().message_id(), results[i].message_id());
    EXPECT_EQ(item1.message().channel().id(), group);
    EXPECT_EQ(item1.exclude_device().uid(), sender);
    EXPECT_EQ(item1.exclude_device().device_id(), "phone");
    // gw1 holds only the sender's excluded device and b; gw2 the sender's laptop and c.
    EXPECT_EQ(Uids(item1), std::set<std::string>({b}));
    EXPECT_EQ(Uids(item2), std::set<std::string>({sender, c}));
  }
}

TEST_F(MessageFanoutTest, PersonChatReachesBothPartiesAndCmdsCarryTheirInboxSeq) {
  testing::FakeGateway gw;
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  Online(a, "web", gw);
  Online(b, "app", gw);
  v1::SendItem normal = Item(a, Person(b), "hi");
  v1::SendItem ephemeral = Item(a, Person(b), "typing");
  ephemeral.mutable_flags()->set_no_persist(true);
  v1::SendItem cmd = Item(a, Person(b), "cmd");
  cmd.mutable_flags()->set_sync_once(true);
  cmd.add_recipient_uids(b);
  const std::vector<v1::SendResult> results = Send({normal, ephemeral, cmd});
  for (const auto& r : results) ASSERT_EQ(r.reason(), im::common::v1::REASON_CODE_SUCCESS);

  // No sending device given: both parties get everything addressed to them.
  std::vector<im::gateway::v1::DeliverRequest> calls;
  size_t items = 0;
  for (int i = 0; i < 50 && items < 3; ++i) {
    calls = gw.WaitForCalls(calls.size() + 1, absl::Milliseconds(100));
    items = 0;
    for (const auto& call : calls) items += call.items_size();
  }
  ASSERT_EQ(items, 3u);
  std::vector<im::gateway::v1::DeliverItem> delivered;
  for (const auto& call : calls) {
    for (const auto& item : call.items()) delivered.push_back(item);
  }
  EXPECT_EQ(Uids(delivered[0]), std::set<std::string>({a, b}));
  EXPECT_EQ(delivered[0].message().channel().id(), b);  // as the sender addressed it
  EXPECT_FALSE(delivered[0].has_exclude_device());
  EXPECT_TRUE(delivered[1].message().flags().no_persist());
  EXPECT_EQ(delivered[1].message().message_seq(), 0);
  EXPECT_TRUE(delivered[2].message().flags().sync_once());
  ASSERT_EQ(delivered[2].recipients_size(), 1);
  EXPECT_EQ(delivered[2].recipients(0).uid(), b);
  EXPECT_GT(delivered[2].recipients(0).cmd_seq(), 0);
}

TEST_F(MessageFanoutTest, DuplicatesAndFailuresAreNotDelivered) {
  testing::FakeGateway gw;
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b"),
                    outsider = testing::UniqueName("o");
  const std::string group = NewGroup({a, b});
  Online(b, "app", gw);
  const v1::SendItem item = Item(a, Group(group), "once");
  ASSERT_EQ(SendOne(item).reason(), im::common::v1::REASON_CODE_SUCCESS);
  ASSERT_EQ(gw.WaitForCalls(1, absl::Seconds(5)).size(), 1u);
  EXPECT_TRUE(SendOne(item).duplicate());
  EXPECT_EQ(SendOne(Item(outsider, Group(group), "no")).reason(),
            im::common::v1::REASON_CODE_NOT_SUBSCRIBER);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(gw.Calls().size(), 1u);
}

TEST_F(MessageFanoutTest, NotificationsTakeTheSamePath) {
  testing::FakeGateway gw;
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  Online(a, "app", gw);
  Online(a, "web", gw);
  v1::NotifyRequest request;
  v1::NotifyItem* item = request.add_items();
  *item->mutable_channel() = Person(b);
  item->add_uids(a);
  item->mutable_exclude_device()->set_uid(a);
  item->mutable_exclude_device()->set_device_id("app");
  item->mutable_seq_update()->set_read_seq(7);
  absl::StatusOr<std::vector<FanoutItem>> items = ToFanoutItems(request, 100);
  ASSERT_TRUE(items.ok()) << items.status();
  pipeline_->Notify(*std::move(items));
  const auto calls = gw.WaitForCalls(1, absl::Seconds(5));
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_EQ(calls[0].items_size(), 1);
  EXPECT_EQ(calls[0].items(0).seq_update().read_seq(), 7);
  EXPECT_EQ(Uids(calls[0].items(0)), std::set<std::string>({a}));
  EXPECT_EQ(calls[0].items(0).exclude_device().device_id(), "app");

  request.mutable_items(0)->clear_seq_update();
  EXPECT_EQ(ToFanoutItems(request, 100).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MessageFanoutTest, LargeBatchesAreSplitIntoBoundedRequestsSentInOrder) {
  RebuildPipeline({.max_payload_bytes = 64 * 1024}, {});
  testing::FakeGateway gw;
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  Online(b, "app", gw);
  // 80 x 60 KB in one batch: one request would pass gRPC's 4 MiB limit and be refused whole.
  std::vector<v1::SendItem> items;
  for (int i = 0; i < 80; ++i) {
    items.push_back(Item(a, Person(b), std::string(60000, static_cast<char>('a' + i % 26))));
  }
  const std::vector<v1::SendResult> results = Send(items);
  for (const auto& r : results) ASSERT_EQ(r.reason(), im::common::v1::REASON_CODE_SUCCESS);

  std::vector<im::gateway::v1::DeliverRequest> calls;
  std::vector<int64_t> seqs;
  for (int i = 0; i < 100 && seqs.size() < results.size(); ++i) {
    calls = gw.WaitForCalls(calls.size() + 1, absl::Milliseconds(100));
    seqs.clear();
    for (const auto& call : calls) {
      for (const auto& item : call.items()) seqs.push_back(item.message().message_seq());
    }
  }
  EXPECT_GE(calls.size(), 5u);
  for (const auto& call : calls) EXPECT_LE(call.ByteSizeLong(), size_t{1} << 20);
  std::vector<int64_t> expected;
  for (const auto& r : results) expected.push_back(r.message_seq());
  EXPECT_EQ(seqs, expected);
}

TEST_F(MessageFanoutTest, AHugeRecipientListIsSpreadOverRequests) {
  prometheus::Registry registry;
  Fanout fanout(channel_store_.get(), presence_.get(), gateways_.get(),
                {.lanes = 1, .max_request_bytes = 2000}, registry);
  testing::FakeGateway gw;
  FanoutItem item;
  item.channel_key = "g:big";
  item.explicit_uids = true;
  std::vector<gateway::PresenceEntry> online;
  for (int i = 0; i < 200; ++i) {
    item.uids.push_back(testing::UniqueName("u"));
    item.cmd_seqs.push_back(i + 1);
    online.push_back({.uid = item.uids.back(), .device_id = "d", .gateway = gw.address()});
  }
  ASSERT_TRUE(presence_->Register(online).ok());
  item.item.mutable_message()->set_payload(std::string(500, 'p'));
  FanoutItem next;
  next.channel_key = "g:big";
  next.explicit_uids = true;
  next.uids = {item.uids[0]};
  next.item.mutable_message()->set_payload("after");
  fanout.DeliverBatch({item, next});

  const auto calls = gw.Calls();
  ASSERT_GE(calls.size(), 5u);
  std::map<std::string, int64_t> got;
  for (size_t c = 0; c < calls.size(); ++c) {
    EXPECT_LE(calls[c].ByteSizeLong(), 2000u);
    const bool last = c + 1 == calls.size();
    ASSERT_EQ(calls[c].items_size(), last ? 2 : 1);
    EXPECT_EQ(calls[c].items(0).message().payload(), std::string(500, 'p'));
    for (const auto& recipient : calls[c].items(0).recipients()) {
      EXPECT_TRUE(got.emplace(recipient.uid(), recipient.cmd_seq()).second) << recipient.uid();
    }
  }
  ASSERT_EQ(got.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got[item.uids[i]], i + 1);
  EXPECT_EQ(calls.back().items(1).message().payload(), "after");
}

TEST_F(MessageFanoutTest, QueueBytesBoundDropsTheRest) {
  testing::FakeGateway gw;
  const std::string b = testing::UniqueName("b");
  Online(b, "app", gw);
  prometheus::Registry registry;
  Fanout fanout(channel_store_.get(), presence_.get(), gateways_.get(),
                {.lanes = 1, .max_queue_bytes = 3500}, registry);
  std::vector<FanoutItem> items(10);
  for (int i = 0; i < 10; ++i) {
    items[i].channel_key = "p:x:y";
    items[i].explicit_uids = true;
    items[i].uids = {b};
    items[i].item.mutable_message()->set_message_seq(i + 1);
    items[i].item.mutable_message()->set_payload(std::string(1000, 'x'));
  }
  fanout.Enqueue(0, std::move(items));
  gw.WaitForCalls(1, absl::Seconds(5));
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<int64_t> seqs;
  for (const auto& call : gw.Calls()) {
    for (const auto& item : call.items()) seqs.push_back(item.message().message_seq());
  }
  EXPECT_EQ(seqs, std::vector<int64_t>({1, 2, 3}));
}

}  // namespace
}  // namespace im::message
