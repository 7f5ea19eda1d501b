// The send path in-process against real Postgres, Redis and a sequence service: acks after
// commit, dedupe, per-channel order, membership, no_persist and sync_once (DESIGN.md invariants
// 1, 2, 4, 7).
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/message/message_fixture.h"

namespace im::message {
namespace {

using im::common::v1::REASON_CODE_INVALID_ARGUMENT;
using im::common::v1::REASON_CODE_NOT_FOUND;
using im::common::v1::REASON_CODE_NOT_SUBSCRIBER;
using im::common::v1::REASON_CODE_SUCCESS;
using im::common::v1::REASON_CODE_TOO_LARGE;

class MessageSendTest : public MessageFixture {};

TEST_F(MessageSendTest, AckArrivesOnlyAfterTheRowIsCommitted) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  std::promise<int64_t> rows_at_ack;
  std::promise<v1::SendResult> result;
  pipeline_->Submit({Item(a, Person(b), "hello")}, [&](std::vector<v1::SendResult> results) {
    // Runs on the lane thread the moment the ack is ready; the row must already be visible to
    // any other connection.
    rows_at_ack.set_value(QueryInt(absl::StrCat("SELECT count(*) FROM message.messages WHERE ",
                                                "message_id = ", results[0].message_id())));
    result.set_value(results[0]);
  });
  const v1::SendResult r = result.get_future().get();
  ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
  EXPECT_EQ(rows_at_ack.get_future().get(), 1);
  EXPECT_GT(r.message_seq(), 0);
  EXPECT_NE(r.message_id(), 0u);
  EXPECT_GT(r.timestamp(), 0);
  EXPECT_FALSE(r.duplicate());
}

TEST_F(MessageSendTest, IdempotentSendReturnsTheOriginalAndStoresOnce) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const v1::SendItem item = Item(a, Person(b), "once", "fixed-no-1");
  const v1::SendResult first = SendOne(item);
  ASSERT_EQ(first.reason(), REASON_CODE_SUCCESS) << first.message();
  // A later retry, and two copies inside one batch.
  const v1::SendResult retry = SendOne(item);
  const std::vector<v1::SendResult> batch = Send({item, item});
  for (const v1::SendResult& r : {retry, batch[0], batch[1]}) {
    ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
    EXPECT_TRUE(r.duplicate());
    EXPECT_EQ(r.message_id(), first.message_id());
    EXPECT_EQ(r.message_seq(), first.message_seq());
    EXPECT_EQ(r.timestamp(), first.timestamp());
  }
  // New in the same batch: the first copy is stored, the second returns it.
  const v1::SendItem fresh = Item(a, Person(b), "twice", "fixed-no-2");
  const std::vector<v1::SendResult> pair = Send({fresh, fresh});
  ASSERT_EQ(pair[0].reason(), REASON_CODE_SUCCESS);
  EXPECT_FALSE(pair[0].duplicate());
  EXPECT_TRUE(pair[1].duplicate());
  EXPECT_EQ(pair[1].message_id(), pair[0].message_id());
  // The peer's view: the same key from the other side is the same channel.
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM message.messages WHERE channel_key = 'p:",
                                  std::min(a, b), ":", std::max(a, b), "'")),
            2);
}

TEST_F(MessageSendTest, ManyChannelsInOneBatchKeepPerChannelOrder) {
  const std::string sender = testing::UniqueName("s");
  std::vector<std::string> peers;
  for (int c = 0; c < 12; ++c) peers.push_back(testing::UniqueName("p"));
  std::vector<v1::SendItem> items;
  for (int i = 0; i < 20; ++i) {
    for (const std::string& peer : peers) items.push_back(Item(sender, Person(peer), "x"));
  }
  const std::vector<v1::SendResult> results = Send(items);
  ASSERT_EQ(results.size(), items.size());
  std::map<std::string, int64_t> last_seq;
  std::set<uint64_t> ids;
  for (size_t i = 0; i < items.size(); ++i) {
    ASSERT_EQ(results[i].reason(), REASON_CODE_SUCCESS) << results[i].message();
    const std::string& peer = items[i].channel().id();
    EXPECT_GT(results[i].message_seq(), last_seq[peer]) << "seqs must follow item order";
    last_seq[peer] = results[i].message_seq();
    ids.insert(results[i].message_id());
  }
  EXPECT_EQ(ids.size(), items.size());

  // Concurrent callers on one channel: seqs stay unique and increasing per caller.
  const std::string peer = peers[0];
  std::vector<std::vector<int64_t>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const v1::SendResult r = SendOne(Item(sender, Person(peer), "y"));
        EXPECT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
        seen[t].push_back(r.message_seq());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<int64_t> all;
  for (const auto& seqs : seen) {
    for (size_t i = 1; i < seqs.size(); ++i) EXPECT_LT(seqs[i - 1], seqs[i]);
    all.insert(seqs.begin(), seqs.end());
  }
  EXPECT_EQ(all.size(), 100u);
}

TEST_F(MessageSendTest, GroupMembershipIsChecked) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b"),
                    outsider = testing::UniqueName("o");
  const std::string group = NewGroup({a, b});
  v1::SendItem system = Item("system", Group(group), "announcement");
  system.set_skip_subscriber_check(true);
  const std::vector<v1::SendResult> results =
      Send({Item(a, Group(group), "in"), Item(outsider, Group(group), "out"),
            Item(a, Group(testing::UniqueName("nogroup")), "?"), system});
  EXPECT_EQ(results[0].reason(), REASON_CODE_SUCCESS) << results[0].message();
  EXPECT_EQ(results[1].reason(), REASON_CODE_NOT_SUBSCRIBER) << results[1].message();
  EXPECT_EQ(results[2].reason(), REASON_CODE_NOT_FOUND) << results[2].message();
  EXPECT_EQ(results[3].reason(), REASON_CODE_SUCCESS) << results[3].message();
  EXPECT_EQ(results[3].message_seq(), results[0].message_seq() + 1);

  v1::DeleteGroupRequest del;
  del.set_group_id(group);
  ASSERT_TRUE(channels_->DeleteGroup(del).ok());
  EXPECT_EQ(SendOne(Item(a, Group(group), "late")).reason(), REASON_CODE_NOT_FOUND);
}

TEST_F(MessageSendTest, BadItemsFailAloneWithTheirReason) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  v1::SendItem no_key = Item(a, Person(b), "x");
  no_key.clear_client_msg_no();
  v1::SendItem both = Item(a, Person(b), "x");
  both.mutable_flags()->set_no_persist(true);
  both.mutable_flags()->set_sync_once(true);
  const std::vector<v1::SendResult> results =
      Send({Item(a, Person(a), "self"), Item(a, Person(b), std::string(2000, 'x')), no_key, both,
            Item("bad uid!", Person(b), "x"), Item(a, Person(b), "fine")});
  EXPECT_EQ(results[0].reason(), REASON_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(results[1].reason(), REASON_CODE_TOO_LARGE);
  EXPECT_EQ(results[2].reason(), REASON_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(results[3].reason(), REASON_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(results[4].reason(), REASON_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(results[5].reason(), REASON_CODE_SUCCESS) << results[5].message();
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(results[i].message().empty());
}

TEST_F(MessageSendTest, NoPersistIsNotStored) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  v1::SendItem item = Item(a, Person(b), "typing");
  item.mutable_flags()->set_no_persist(true);
  const v1::SendResult r = SendOne(item);
  ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
  EXPECT_EQ(r.message_seq(), 0);
  EXPECT_NE(r.message_id(), 0u);
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM message.messages WHERE message_id = ",
                                  r.message_id())),
            0);
  v1::SyncChannelMessagesRequest sync;
  sync.set_uid(b);
  *sync.mutable_channel() = Person(a);
  absl::StatusOr<v1::SyncChannelMessagesResponse> history = reader_->Sync(sync);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->messages_size(), 0);
}

TEST_F(MessageSendTest, SyncOnceIsKeptPerRecipientOutsideHistory) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b"),
                    c = testing::UniqueName("c");
  const std::string group = NewGroup({a, b, c});
  v1::SendItem to_group = Item(a, Group(group), "cmd-1");
  to_group.mutable_flags()->set_sync_once(true);
  v1::SendItem to_listed = Item(a, Group(group), "cmd-2");
  to_listed.mutable_flags()->set_sync_once(true);
  to_listed.add_recipient_uids(c);
  const std::vector<v1::SendResult> results = Send({to_group, to_listed});
  for (const v1::SendResult& r : results) {
    ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
    EXPECT_EQ(r.message_seq(), 0);
  }
  // The inboxes are filled by the cmd expander after the ack.
  EXPECT_EQ(WaitForInt(absl::StrCat("SELECT count(*) FROM message.cmd_inbox WHERE message_id = ",
                                    results[0].message_id()),
                       3),
            3);
  EXPECT_EQ(WaitForInt(absl::StrCat("SELECT count(*) FROM message.cmd_inbox WHERE message_id = ",
                                    results[1].message_id(), " AND uid = '", c, "'"),
                       1),
            1);
  // A retry stores nothing new.
  const v1::SendResult retry = SendOne(to_group);
  EXPECT_TRUE(retry.duplicate());
  EXPECT_EQ(retry.message_id(), results[0].message_id());
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM message.cmd_inbox WHERE message_id = ",
                                  results[0].message_id())),
            3);
  v1::SyncChannelMessagesRequest sync;
  sync.set_uid(b);
  *sync.mutable_channel() = Group(group);
  absl::StatusOr<v1::SyncChannelMessagesResponse> history = reader_->Sync(sync);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->messages_size(), 0);
}

TEST_F(MessageSendTest, SequenceOutageFailsTheWholeBatchAndStoresNothing) {
  SequenceClient dead(testing::FreshChannel(absl::StrCat("127.0.0.1:", testing::FreePort())),
                      absl::Milliseconds(300));
  SendProcessor processor(Stores(), &dead, conversation_client_.get(), ids_.get(), {});
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const v1::SendItem first = Item(a, Person(b), "1"), second = Item(b, Person(a), "2");
  const std::vector<SendOutcome> outcomes = ProcessAll(processor, {&first, &second});
  for (const SendOutcome& outcome : outcomes) {
    EXPECT_EQ(outcome.result.reason(), im::common::v1::REASON_CODE_UNAVAILABLE);
    EXPECT_FALSE(outcome.result.message().empty());
    EXPECT_FALSE(outcome.fanout.has_value());
  }
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM message.messages WHERE from_uid IN ('", a,
                                  "', '", b, "')")),
            0);
}

TEST_F(MessageSendTest, ReplicasRacingOnOneSendStoreItOnce) {
  // Two processors stand for two replicas; each checks for the key before either has inserted.
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  SendProcessor other(Stores(), sequence_client_.get(), conversation_client_.get(), ids_.get(), {});
  for (int round = 0; round < 10; ++round) {
    const v1::SendItem item = Item(a, Person(b), "race");
    std::vector<SendOutcome> left, right;
    std::thread t1([&] { left = ProcessAll(*processor_, {&item}); });
    std::thread t2([&] { right = ProcessAll(other, {&item}); });
    t1.join();
    t2.join();
    const v1::SendResult& l = left[0].result;
    const v1::SendResult& r = right[0].result;
    ASSERT_EQ(l.reason(), im::common::v1::REASON_CODE_SUCCESS) << l.message();
    ASSERT_EQ(r.reason(), im::common::v1::REASON_CODE_SUCCESS) << r.message();
    EXPECT_EQ(l.message_id(), r.message_id());
    EXPECT_EQ(l.message_seq(), r.message_seq());
    EXPECT_NE(l.duplicate(), r.duplicate());
    EXPECT_NE(left[0].fanout.has_value(), right[0].fanout.has_value()) << "delivered once";
  }
  EXPECT_EQ(
      QueryInt(absl::StrCat("SELECT count(*) FROM message.messages WHERE from_uid = '", a, "'")),
      10);
}

TEST_F(MessageSendTest, LaneQueueBytesBoundRefusesWithUnavailable) {
  RebuildPipeline({}, {.max_queue_bytes = 3500, .cmds_stored = {}});
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  std::vector<v1::SendItem> items;
  for (int i = 0; i < 10; ++i) items.push_back(Item(a, Person(b), std::string(1000, 'x')));
  // One Submit queues a channel's items under one lock: 3 KB fit, the fourth passes the bound, and
  // the rest are refused with it so none commits ahead of its retry.
  const std::vector<v1::SendResult> results = Send(items);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(results[i].reason(),
              i < 3 ? REASON_CODE_SUCCESS : im::common::v1::REASON_CODE_UNAVAILABLE)
        << i;
  }
  // Refused items were not stored, and go through once the lane has drained.
  std::vector<v1::SendItem> retry(items.begin() + 3, items.begin() + 6);
  for (const v1::SendResult& r : Send(retry)) {
    EXPECT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
    EXPECT_FALSE(r.duplicate());
  }
}

}  // namespace
}  // namespace im::message
