// Conversations and seq sync end to end: real sequence, message, conversation and gateway
// processes, WebSocket clients, and business-server gRPC calls.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/suite_fixture.h"

namespace im::testing {
namespace {

namespace common = im::common::v1;
using client::GroupChannel;
using client::ImClient;
using client::PersonChannel;

struct Config {
  static SuiteOptions Options() { return {}; }
};

class ConversationE2eTest : public SuiteTest<Config> {
 protected:
  // The user's whole list over WebSocket, following next_cursor; fails the test on error.
  static std::vector<im::conversation::v1::Conversation> FullList(ImClient& client,
                                                                  uint32_t limit = 0) {
    std::vector<im::conversation::v1::Conversation> all;
    client::SyncConversationsRequest request;
    request.set_limit(limit);
    for (int page = 0; page < 1000; ++page) {
      auto response = client.SyncConversations(request);
      EXPECT_TRUE(response.ok()) << response.status();
      if (!response.ok()) return all;
      EXPECT_EQ(response->reason(), common::REASON_CODE_SUCCESS) << response->message();
      all.insert(all.end(), response->conversations().begin(), response->conversations().end());
      if (!response->has_more()) return all;
      request.set_cursor(response->next_cursor());
    }
    ADD_FAILURE() << "the list never ended";
    return all;
  }

  static std::map<std::string, uint32_t> UnreadById(ImClient& client) {
    std::map<std::string, uint32_t> unread;
    for (const auto& c : FullList(client)) unread[c.channel().id()] = c.unread();
    return unread;
  }

  // Polls until `client`'s unread for `channel_id` is `expected` (read positions that follow a
  // sender's own message move asynchronously, after the ack).
  static bool WaitUnread(ImClient& client, const std::string& channel_id, uint32_t expected) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      auto unread = UnreadById(client);
      if (unread.contains(channel_id) && unread[channel_id] == expected) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "unread of " << channel_id << " never became " << expected << " (is "
                  << UnreadById(client)[channel_id] << ")";
    return false;
  }

  // The next SEQ_UPDATE push, skipping others.
  static std::optional<im::conversation::v1::SeqUpdate> NextSeqUpdate(ImClient& client) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (true) {
      auto frame = client.NextPush(deadline - absl::Now());
      if (!frame.has_value()) return std::nullopt;
      if (frame->has_seq_update()) return frame->seq_update();
    }
  }

  static common::MessageFlags Silent() {
    common::MessageFlags flags;
    flags.set_red_dot(false);
    return flags;
  }
};

TEST_F(ConversationE2eTest, UnreadIsExactAcrossDevicesAndReconnects) {
  const std::string alice = UniqueName("alice"), bob = UniqueName("bob"),
                    carol = UniqueName("carol"), group = UniqueName("team");
  suite_->CreateGroup(group, {alice, bob, carol});
  auto phone = suite_->Login(alice, "phone");
  auto desk = suite_->Login(alice, "desk", 0, client::Encoding::kJson, common::DEVICE_FLAG_DESKTOP);
  const common::Channel channel = GroupChannel(group);

  ASSERT_EQ(suite_->ApiSend(bob, channel, "b1", "1").reason(), common::REASON_CODE_SUCCESS);
  ASSERT_EQ(suite_->ApiSend(bob, channel, "b2", "2").reason(), common::REASON_CODE_SUCCESS);
  auto own = phone->Send(channel, "a1", "3");  // alice's own: read up to here
  ASSERT_TRUE(own.ok() && own->reason() == common::REASON_CODE_SUCCESS);
  ASSERT_EQ(suite_->ApiSend(carol, channel, "c1", "4", Silent()).reason(),
            common::REASON_CODE_SUCCESS);
  ASSERT_EQ(suite_->ApiSend(carol, channel, "c2", "5").reason(), common::REASON_CODE_SUCCESS);
  ASSERT_EQ(suite_->ApiSend(bob, channel, "b3", "6").reason(), common::REASON_CODE_SUCCESS);

  // Alice: carol's c2 and bob's b3 (own a1 read, c1 silent, b1 b2 read by sending a1).
  ASSERT_TRUE(WaitUnread(*desk, group, 2));
  auto bob_client = suite_->Login(bob, "phone");
  ASSERT_TRUE(WaitUnread(*bob_client, group, 0));
  auto carol_client = suite_->Login(carol, "phone");
  ASSERT_TRUE(WaitUnread(*carol_client, group, 1));

  // Alice reads up to seq 5 on her phone; the desk is told at once and agrees.
  auto read = phone->ClearUnread(channel, 5);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->reason(), common::REASON_CODE_SUCCESS) << read->message();
  EXPECT_EQ(read->state().unread(), 1u);
  auto pushed = NextSeqUpdate(*desk);
  ASSERT_TRUE(pushed.has_value()) << "the desk got no SEQ_UPDATE";
  EXPECT_EQ(pushed->channel().id(), group);
  EXPECT_EQ(pushed->read_seq(), 5);
  EXPECT_EQ(pushed->unread(), 1u);
  EXPECT_EQ(UnreadById(*desk)[group], 1u);

  // After reconnecting, every count is the same.
  desk->Close();
  desk = suite_->Login(alice, "desk", 0, client::Encoding::kJson, common::DEVICE_FLAG_DESKTOP);
  EXPECT_EQ(UnreadById(*desk)[group], 1u);
  auto snapshot = desk->SeqSnapshot({channel});
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->seqs_size(), 1);
  EXPECT_EQ(snapshot->seqs(0).max_seq(), 6);
  EXPECT_EQ(snapshot->seqs(0).read_seq(), 5);
  EXPECT_EQ(snapshot->seqs(0).unread(), 1u);
}

TEST_F(ConversationE2eTest, IncrementalSyncReturnsOnlyChangesThenNothing) {
  const std::string alice = UniqueName("alice"), bob = UniqueName("bob"),
                    carol = UniqueName("carol");
  ASSERT_EQ(suite_->ApiSend(bob, PersonChannel(alice), "m1", "hi").reason(),
            common::REASON_CODE_SUCCESS);
  ASSERT_EQ(suite_->ApiSend(carol, PersonChannel(alice), "m1", "hi").reason(),
            common::REASON_CODE_SUCCESS);
  auto client = suite_->Login(alice, "phone");
  auto full = client->SyncConversations({});
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->conversations_size(), 2);
  EXPECT_EQ(full->conversations(0).channel().id(), carol) << "newest first";
  EXPECT_EQ(full->conversations(0).last_message().payload(), "hi");

  client::SyncConversationsRequest request;
  request.set_cursor(full->next_cursor());
  auto nothing = client->SyncConversations(request);
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->conversations_size(), 0);

  ASSERT_EQ(suite_->ApiSend(bob, PersonChannel(alice), "m2", "again").reason(),
            common::REASON_CODE_SUCCESS);
  request.set_cursor(nothing->next_cursor());
  auto changed = client->SyncConversations(request);
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->conversations_size(), 1);
  EXPECT_EQ(changed->conversations(0).channel().id(), bob);
  EXPECT_EQ(changed->conversations(0).unread(), 2u);
  request.set_cursor(changed->next_cursor());
  auto after = client->SyncConversations(request);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->conversations_size(), 0);
}

TEST_F(ConversationE2eTest, DeleteHidesAndANewMessageBringsItBackWithOnlyNewUnread) {
  const std::string alice = UniqueName("alice"), bob = UniqueName("bob");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(suite_->ApiSend(bob, PersonChannel(alice), absl::StrCat(i), "x").reason(),
              common::REASON_CODE_SUCCESS);
  }
  auto phone = suite_->Login(alice, "phone");
  auto desk =
      suite_->Login(alice, "desk", 0, client::Encoding::kBinary, common::DEVICE_FLAG_DESKTOP);
  ASSERT_EQ(UnreadById(*phone)[bob], 3u);
  auto cursor = desk->SyncConversations({});
  ASSERT_TRUE(cursor.ok());

  auto deleted = phone->DeleteConversation(PersonChannel(bob));
  ASSERT_TRUE(deleted.ok());
  ASSERT_EQ(deleted->reason(), common::REASON_CODE_SUCCESS) << deleted->message();
  EXPECT_EQ(deleted->state().deleted_to_seq(), 3);
  EXPECT_TRUE(FullList(*phone).empty());
  client::SyncConversationsRequest request;
  request.set_cursor(cursor->next_cursor());
  auto on_desk = desk->SyncConversations(request);
  ASSERT_TRUE(on_desk.ok());
  ASSERT_EQ(on_desk->deleted_channels_size(), 1) << "the desk learns of the delete";
  EXPECT_EQ(on_desk->deleted_channels(0).id(), bob);

  ASSERT_EQ(suite_->ApiSend(bob, PersonChannel(alice), "back", "y").reason(),
            common::REASON_CODE_SUCCESS);
  client::SyncConversationsRequest with_recents;
  with_recents.set_msg_count(10);
  auto back = phone->SyncConversations(with_recents);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->conversations_size(), 1);
  EXPECT_EQ(back->conversations(0).unread(), 1u);
  ASSERT_EQ(back->conversations(0).recents_size(), 1) << "deleted messages stay hidden";
  EXPECT_EQ(back->conversations(0).recents(0).payload(), "y");
}

TEST_F(ConversationE2eTest, PagingThroughAThousandConversationsReturnsEachOnce) {
  const std::string alice = UniqueName("alice");
  auto stub =
      im::message::v1::MessageService::NewStub(FreshChannel(suite_->message().grpc_address()));
  std::set<std::string> peers;
  for (int batch = 0; batch < 2; ++batch) {
    im::message::v1::SendRequest send;
    for (int i = 0; i < 500; ++i) {
      const std::string peer = absl::StrCat(alice, "-p", batch * 500 + i);
      peers.insert(peer);
      auto* item = send.add_items();
      *item->mutable_channel() = PersonChannel(alice);
      item->set_from_uid(peer);
      item->set_client_msg_no("1");
      item->set_payload("hello");
    }
    im::message::v1::SendResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->Send(&context, send, &response).ok());
    for (const auto& result : response.results()) {
      ASSERT_EQ(result.reason(), common::REASON_CODE_SUCCESS) << result.message();
    }
  }
  auto client = suite_->Login(alice, "phone");
  std::multiset<std::string> seen;
  for (const auto& c : FullList(*client, 64)) seen.insert(c.channel().id());
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), peers);
}

TEST_F(ConversationE2eTest, OfflineCatchUpPullsExactlyTheMissingRanges) {
  const std::string alice = UniqueName("alice"), bob = UniqueName("bob");
  std::vector<std::string> groups;
  for (int g = 0; g < 3; ++g) {
    groups.push_back(UniqueName("room"));
    suite_->CreateGroup(groups.back(), {alice, bob});
  }
  // Alice was here once and read everything there was (nothing).
  {
    auto first = suite_->Login(alice, "phone");
    EXPECT_EQ(FullList(*first).size(), 3u);
  }
  for (const std::string& group : groups) {
    for (int i = 0; i < 50; ++i) {
      ASSERT_EQ(suite_->ApiSend(bob, GroupChannel(group), absl::StrCat(i), "m").reason(),
                common::REASON_CODE_SUCCESS);
    }
  }
  auto phone = suite_->Login(alice, "phone");
  auto snapshot = phone->SeqSnapshot();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->reason(), common::REASON_CODE_SUCCESS) << snapshot->message();
  ASSERT_EQ(snapshot->seqs_size(), 3);
  for (const auto& seq : snapshot->seqs()) {
    EXPECT_EQ(seq.max_seq() - seq.read_seq(), 50);
    EXPECT_EQ(seq.unread(), 50u);
    client::SyncChannelMessagesRequest pull;
    *pull.mutable_channel() = seq.channel();
    pull.set_start_seq(seq.read_seq() + 1);
    pull.set_end_seq(seq.max_seq());
    pull.set_limit(1000);
    auto pulled = phone->SyncChannelMessages(pull);
    ASSERT_TRUE(pulled.ok());
    ASSERT_EQ(pulled->messages_size(), 50);
    EXPECT_FALSE(pulled->has_more());
    EXPECT_EQ(pulled->messages(0).message_seq(), seq.read_seq() + 1);
    EXPECT_EQ(pulled->messages(49).message_seq(), seq.max_seq());
    auto read = phone->ClearUnread(seq.channel(), seq.max_seq());
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read->state().unread(), 0u);
  }
  for (const auto& [id, unread] : UnreadById(*phone)) EXPECT_EQ(unread, 0u) << id;
}

TEST_F(ConversationE2eTest, SeqOnlyConnectionsGetSeqUpdatesInsteadOfMessages) {
  const std::string alice = UniqueName("alice"), bob = UniqueName("bob");
  auto background = suite_->Login(alice, "phone");
  auto mode = background->SeqSubscribe(im::client::v1::SEQ_SUBSCRIBE_MODE_SEQ_ONLY);
  ASSERT_TRUE(mode.ok());
  EXPECT_EQ(mode->mode(), im::client::v1::SEQ_SUBSCRIBE_MODE_SEQ_ONLY);
  auto foreground =
      suite_->Login(alice, "desk", 0, client::Encoding::kBinary, common::DEVICE_FLAG_DESKTOP);

  const auto sent = suite_->ApiSend(bob, PersonChannel(alice), "m1", "hello");
  ASSERT_EQ(sent.reason(), common::REASON_CODE_SUCCESS);
  auto update = NextFrame(*background);
  ASSERT_TRUE(update.has_value());
  ASSERT_TRUE(update->has_seq_update()) << update->DebugString();
  EXPECT_EQ(update->seq_update().channel().id(), bob);
  EXPECT_EQ(update->seq_update().max_seq(), sent.message_seq());
  auto full = NextRecv(*foreground);
  ASSERT_TRUE(full.has_value()) << "a FULL connection still gets the message";
  EXPECT_EQ(full->payload(), "hello");

  mode = background->SeqSubscribe(im::client::v1::SEQ_SUBSCRIBE_MODE_FULL);
  ASSERT_TRUE(mode.ok());
  ASSERT_EQ(suite_->ApiSend(bob, PersonChannel(alice), "m2", "again").reason(),
            common::REASON_CODE_SUCCESS);
  auto recv = NextRecv(*background);
  ASSERT_TRUE(recv.has_value());
  EXPECT_EQ(recv->payload(), "again");
}

TEST_F(ConversationE2eTest, BadCursorsAndOtherUidsAreRefused) {
  const std::string alice = UniqueName("alice"), bob = UniqueName("bob");
  auto client = suite_->Login(alice, "phone");
  auto other = suite_->Login(bob, "phone");
  auto bobs = other->SyncConversations({});
  ASSERT_TRUE(bobs.ok());

  client::SyncConversationsRequest request;
  request.set_cursor("definitely not a cursor");
  auto garbage = client->SyncConversations(request);
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(garbage->reason(), common::REASON_CODE_INVALID_ARGUMENT);
  request.set_cursor(bobs->next_cursor());
  auto foreign = client->SyncConversations(request);
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(foreign->reason(), common::REASON_CODE_INVALID_ARGUMENT);
  EXPECT_NE(foreign->message().find("another user"), std::string::npos) << foreign->message();

  client::SyncConversationsRequest as_bob;
  as_bob.set_uid(bob);
  auto denied = client->SyncConversations(as_bob);
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->reason(), common::REASON_CODE_PERMISSION_DENIED);

  // The connection still works.
  auto fine = client->SyncConversations({});
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(fine->reason(), common::REASON_CODE_SUCCESS);
}

}  // namespace
}  // namespace im::testing
