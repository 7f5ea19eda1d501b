// The conversation service's logic on the real Postgres, with an in-memory stand-in for the message
// service's channel heads: unread exactness, read positions, delete and return, incremental sync,
// cross-device pushes and bad input.
#include "services/conversation/conversations.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/migrations.h"
#include "common/reason_codes.h"
#include "migrations_embedded.h"
#include "services/message/public/channel_key.h"
#include "services/message/public/not_subscriber.h"
#include "tests/support/test_env.h"

namespace im::conversation {
namespace {

using im::common::v1::Channel;

Channel Group(const std::string& id) {
  Channel c;
  c.set_id(id);
  c.set_type(im::common::v1::CHANNEL_TYPE_GROUP);
  return c;
}

Channel Person(const std::string& peer) {
  Channel c;
  c.set_id(peer);
  c.set_type(im::common::v1::CHANNEL_TYPE_PERSON);
  return c;
}

// Channels with their messages and groups with their subscribers, answering as the message
// service does.
class FakeMessages : public MessageClient {
 public:
  struct Msg {
    int64_t seq;
    std::string from;
    bool red_dot;
  };

  // Appends a message and returns its seq.
  int64_t Send(const std::string& key, const std::string& from, bool red_dot = true) {
    std::lock_guard lock(mu_);
    auto& msgs = channels_[key];
    const int64_t seq = msgs.empty() ? 1 : msgs.back().seq + 1;
    msgs.push_back({seq, from, red_dot});
    activity_[key] = absl::ToUnixMillis(absl::Now());
    return seq;
  }

  void Subscribe(const std::string& group_id, const std::string& uid) {
    std::lock_guard lock(mu_);
    subscribers_[group_id].insert(uid);
  }

  absl::StatusOr<im::message::v1::GetChannelHeadsResponse> GetHeads(
      const std::string& uid, const HeadsQuery& query) override {
    std::lock_guard lock(mu_);
    im::message::v1::GetChannelHeadsResponse response;
    response.set_as_of_ms(absl::ToUnixMillis(absl::Now()));
    for (size_t i = 0; i < query.channels.size(); ++i) {
      auto key = ChannelKey::For(uid, query.channels[i]);
      if (!key.ok()) return key.status();
      auto* head = response.add_heads();
      *head->mutable_channel() = query.channels[i];
      const auto& msgs = channels_[key->str()];
      for (const Msg& m : msgs) {
        if (m.red_dot) head->set_red_dots(head->red_dots() + 1);
        if (m.red_dot && m.from == uid) head->set_own_red_dots(head->own_red_dots() + 1);
      }
      if (msgs.empty()) continue;
      head->set_last_seq(msgs.back().seq);
      head->set_last_message_ms(msgs.back().seq);
      head->set_activity_ms(activity_[key->str()]);
      const int64_t hidden = i < query.hidden_to_seqs.size() ? query.hidden_to_seqs[i] : 0;
      if (query.with_messages && msgs.back().seq > hidden) {
        head->mutable_last_message()->set_message_seq(msgs.back().seq);
        for (size_t j = msgs.size() - std::min<size_t>(msgs.size(), query.msg_count);
             j < msgs.size(); ++j) {
          if (msgs[j].seq > hidden) head->add_recents()->set_message_seq(msgs[j].seq);
        }
      }
    }
    return response;
  }

  absl::StatusOr<im::message::v1::ReadPosition> GetReadPosition(
      const im::message::v1::GetReadPositionRequest& request) override {
    std::lock_guard lock(mu_);
    auto key = ChannelKey::For(request.uid(), request.channel());
    if (!key.ok()) return key.status();
    if (key->is_group() && !subscribers_[request.channel().id()].contains(request.uid())) {
      return NotSubscriberError(request.uid(), request.channel().id());
    }
    const auto& msgs = channels_[key->str()];
    int64_t seq = msgs.empty() ? 0 : msgs.back().seq;
    if (request.has_read_seq() && request.read_seq() > 0) {
      seq = std::min(seq, request.read_seq());
    } else if (request.has_unread()) {
      uint32_t others = 0;
      for (auto it = msgs.rbegin(); it != msgs.rend() && others < request.unread(); ++it) {
        if (it->red_dot && it->from != request.uid()) ++others;
        seq = it->seq - 1;
      }
    }
    im::message::v1::ReadPosition position;
    position.set_read_seq(seq);
    for (const Msg& m : msgs) {
      if (m.seq > seq || !m.red_dot) continue;
      position.set_red_dots(position.red_dots() + 1);
      if (m.from == request.uid()) position.set_own_red_dots(position.own_red_dots() + 1);
    }
    return position;
  }

  absl::Status PushSeqUpdate(const std::string& uid, const std::string& except_device_id,
                             const v1::SeqUpdate& update) override {
    std::lock_guard lock(mu_);
    pushes_.push_back({uid, except_device_id, update});
    return absl::OkStatus();
  }

  struct Push {
    std::string uid;
    std::string except_device;
    v1::SeqUpdate update;
  };
  std::vector<Push> pushes() {
    std::lock_guard lock(mu_);
    return pushes_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<Msg>> channels_;
  std::map<std::string, int64_t> activity_;
  std::map<std::string, std::set<std::string>> subscribers_;
  std::vector<Push> pushes_;
};

class ConversationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_ = testing::MakePostgresPool();
    auto migrated = ApplyMigrations(*pg_, "conversation", EmbeddedMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated.status();
    store_ = std::make_unique<ConversationStore>(pg_.get());
    conversations_ = std::make_unique<Conversations>(
        store_.get(), &messages_, Conversations::Options{.activity_margin = absl::Seconds(1)});
    alice_ = testing::UniqueName("alice");
    bob_ = testing::UniqueName("bob");
    carol_ = testing::UniqueName("carol");
    group_ = testing::UniqueName("team");
    group_key_ = "g:" + group_;
  }

  // As the message service does for a new subscriber of a group, or a new chat.
  void Ensure(const std::string& uid, const Channel& channel) {
    if (channel.type() == im::common::v1::CHANNEL_TYPE_GROUP)
      messages_.Subscribe(channel.id(), uid);
    v1::EnsureRequest request;
    auto* item = request.add_items();
    item->set_uid(uid);
    *item->mutable_channel() = channel;
    ASSERT_TRUE(conversations_->Ensure(request).ok());
  }

  v1::SyncResponse Sync(const std::string& uid, const std::string& cursor = "",
                        uint32_t limit = 0) {
    v1::SyncRequest request;
    request.set_uid(uid);
    request.set_cursor(cursor);
    request.set_limit(limit);
    request.set_msg_count(3);
    v1::SyncResponse response;
    absl::Status status = conversations_->Sync(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    return response;
  }

  uint32_t UnreadIn(const v1::SyncResponse& response, const Channel& channel) {
    for (const auto& c : response.conversations()) {
      if (c.channel().id() == channel.id()) return c.unread();
    }
    ADD_FAILURE() << "no conversation " << channel.id();
    return 0;
  }

  std::unique_ptr<PostgresPool> pg_;
  std::unique_ptr<ConversationStore> store_;
  FakeMessages messages_;
  std::unique_ptr<Conversations> conversations_;
  std::string alice_, bob_, carol_, group_, group_key_;
};

TEST_F(ConversationServiceTest, UnreadIsExactForMixedSendersOwnAndSilentMessages) {
  for (const auto& uid : {alice_, bob_, carol_}) Ensure(uid, Group(group_));
  messages_.Send(group_key_, bob_);
  messages_.Send(group_key_, alice_);
  messages_.Send(group_key_, carol_, /*red_dot=*/false);
  messages_.Send(group_key_, carol_);
  messages_.Send(group_key_, alice_);
  messages_.Send(group_key_, bob_);

  EXPECT_EQ(UnreadIn(Sync(alice_), Group(group_)), 3u);
  EXPECT_EQ(UnreadIn(Sync(bob_), Group(group_)), 3u);

  // Alice reads up to seq 4 on one device: only bob's last message stays unread, on every device.
  v1::ClearUnreadRequest clear;
  clear.set_uid(alice_);
  *clear.mutable_channel() = Group(group_);
  clear.set_read_seq(4);
  clear.set_device_id("phone");
  auto state = conversations_->ClearUnread(clear);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->read_seq(), 4);
  EXPECT_EQ(state->unread(), 1u);
  EXPECT_EQ(UnreadIn(Sync(alice_), Group(group_)), 1u);

  // The other devices were told; the reading device was not.
  auto pushes = messages_.pushes();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].uid, alice_);
  EXPECT_EQ(pushes[0].except_device, "phone");
  EXPECT_EQ(pushes[0].update.read_seq(), 4);
  EXPECT_EQ(pushes[0].update.unread(), 1u);

  // Reading backwards changes nothing and pushes nothing.
  clear.set_read_seq(2);
  state = conversations_->ClearUnread(clear);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->read_seq(), 4);
  EXPECT_EQ(messages_.pushes().size(), 1u);
}

TEST_F(ConversationServiceTest, SetUnreadMovesTheReadPositionBackSkippingOwnMessages) {
  Ensure(alice_, Group(group_));
  messages_.Send(group_key_, bob_);    // 1
  messages_.Send(group_key_, bob_);    // 2
  messages_.Send(group_key_, alice_);  // 3
  messages_.Send(group_key_, bob_);    // 4
  v1::ClearUnreadRequest clear;
  clear.set_uid(alice_);
  *clear.mutable_channel() = Group(group_);
  ASSERT_TRUE(conversations_->ClearUnread(clear).ok());

  v1::SetUnreadRequest set;
  set.set_uid(alice_);
  *set.mutable_channel() = Group(group_);
  set.set_unread(2);
  auto state = conversations_->SetUnread(set);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->unread(), 2u);
  EXPECT_EQ(state->read_seq(), 1);
  EXPECT_EQ(UnreadIn(Sync(alice_), Group(group_)), 2u);
}

TEST_F(ConversationServiceTest, IncrementalSyncDeleteAndReturn) {
  Ensure(alice_, Person(bob_));
  Ensure(bob_, Person(alice_));
  const std::string person = ChannelKey::For(alice_, Person(bob_))->str();
  EXPECT_EQ(Sync(alice_).conversations_size(), 0) << "a chat without messages is not listed";
  messages_.Send(person, bob_);
  messages_.Send(person, bob_);
  v1::SyncResponse full = Sync(alice_);
  ASSERT_EQ(full.conversations_size(), 1);
  EXPECT_EQ(full.conversations(0).channel().id(), bob_);
  EXPECT_EQ(full.conversations(0).unread(), 2u);
  EXPECT_EQ(full.conversations(0).recents_size(), 2);
  const v1::SyncResponse again = Sync(alice_, full.next_cursor());
  EXPECT_EQ(again.conversations_size(), 0);
  EXPECT_EQ(again.deleted_channels_size(), 0);

  v1::DeleteRequest del;
  del.set_uid(alice_);
  *del.mutable_channel() = Person(bob_);
  auto deleted = conversations_->Delete(del);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->deleted_to_seq(), 2);
  const v1::SyncResponse after_delete = Sync(alice_, again.next_cursor());
  EXPECT_EQ(after_delete.conversations_size(), 0);
  ASSERT_EQ(after_delete.deleted_channels_size(), 1);
  EXPECT_EQ(after_delete.deleted_channels(0).id(), bob_);
  EXPECT_EQ(Sync(alice_).conversations_size(), 0);

  messages_.Send(person, bob_);
  const v1::SyncResponse back = Sync(alice_, after_delete.next_cursor());
  ASSERT_EQ(back.conversations_size(), 1);
  EXPECT_EQ(back.conversations(0).unread(), 1u);
  EXPECT_EQ(back.conversations(0).recents_size(), 1) << "hidden messages stay hidden";
  EXPECT_EQ(back.conversations(0).last_message().message_seq(), 3);
}

TEST_F(ConversationServiceTest, PinAndMuteAreSeenByIncrementalSync) {
  Ensure(alice_, Group(group_));
  const v1::SyncResponse full = Sync(alice_);
  ASSERT_EQ(full.conversations_size(), 1);
  v1::SetPinnedRequest pin;
  pin.set_uid(alice_);
  *pin.mutable_channel() = Group(group_);
  pin.set_pinned(true);
  ASSERT_TRUE(conversations_->SetPinned(pin).ok());
  const v1::SyncResponse changed = Sync(alice_, full.next_cursor());
  ASSERT_EQ(changed.conversations_size(), 1);
  EXPECT_TRUE(changed.conversations(0).pinned());
  // Pinning again is no change.
  ASSERT_TRUE(conversations_->SetPinned(pin).ok());
  EXPECT_EQ(Sync(alice_, changed.next_cursor()).conversations_size(), 0);
}

// DESIGN.md invariant 5: an AdvanceReads behind the read position changes nothing.
TEST_F(ConversationServiceTest, ReadPositionMovesOnlyForwardAndGetChannelSeqsReportsIt) {
  Ensure(alice_, Group(group_));
  messages_.Send(group_key_, bob_);
  messages_.Send(group_key_, alice_);
  v1::AdvanceReadsRequest advance;
  auto* item = advance.add_items();
  item->set_uid(alice_);
  *item->mutable_channel() = Group(group_);
  item->set_read_seq(2);
  item->set_red_dots(2);
  item->set_own_red_dots(1);
  ASSERT_TRUE(conversations_->AdvanceReads(advance).ok());
  item->set_read_seq(1);
  item->set_red_dots(1);
  item->set_own_red_dots(0);
  ASSERT_TRUE(conversations_->AdvanceReads(advance).ok());

  v1::GetChannelSeqsRequest request;
  request.set_uid(alice_);
  v1::GetChannelSeqsResponse response;
  ASSERT_TRUE(conversations_->GetChannelSeqs(request, &response).ok());
  ASSERT_EQ(response.seqs_size(), 1);
  EXPECT_EQ(response.seqs(0).max_seq(), 2);
  EXPECT_EQ(response.seqs(0).read_seq(), 2);
  EXPECT_EQ(response.seqs(0).unread(), 0u);
}

// One call of 9,900 items (a call carries at most 10,000), 6,600 of them moving (two conversations
// per user): every user's version goes up once and its moved rows carry that version. It runs on a
// generic plan, as a prepared statement does from its sixth run on a connection; there, a
// statement that joined the moved rows to the bumped users pairwise took 180 ms for 1,000 items
// and passed the 5 s statement timeout at 15,000.
TEST_F(ConversationServiceTest, ALargeAdvanceCallBumpsEachUserOnce) {
  constexpr int kUsers = 3300, kGroups = 3;
  std::vector<std::string> uids, groups;
  for (int g = 0; g < kGroups; ++g) {
    groups.push_back(testing::UniqueName("big"));
    for (int m = 0; m < 3; ++m) messages_.Send("g:" + groups.back(), bob_);
  }
  v1::EnsureRequest ensure;
  for (int u = 0; u < kUsers; ++u) {
    uids.push_back(testing::UniqueName("reader"));
    for (const std::string& group : groups) {
      auto* item = ensure.add_items();
      item->set_uid(uids.back());
      *item->mutable_channel() = Group(group);
    }
  }
  ASSERT_TRUE(conversations_->Ensure(ensure).ok());
  messages_.Send("g:" + groups[0], bob_);
  messages_.Send("g:" + groups[2], bob_);

  const std::string uid_array = PgArray(uids);
  auto versions = [&] {
    std::map<std::string, int64_t> out;
    EXPECT_TRUE(pg_->Run([&](pqxx::connection& conn) {
                     pqxx::nontransaction tx(conn);
                     for (const auto& row :
                          tx.exec_params("SELECT uid, version FROM conversation.users "
                                         "WHERE uid = ANY($1::text[])",
                                         uid_array)) {
                       out[row[0].as<std::string>()] = row[1].as<int64_t>();
                     }
                   })
                    .ok());
    return out;
  };
  const std::map<std::string, int64_t> before = versions();
  ASSERT_EQ(before.size(), static_cast<size_t>(kUsers));

  const std::string dsn = testing::PostgresDsn();
  PostgresPool generic_plans(
      {.dsn = absl::StrCat(dsn, dsn.find('?') == std::string::npos ? "?" : "&",
                           "options=-c%20plan_cache_mode%3Dforce_generic_plan"),
       .size = 1});
  ConversationStore store(&generic_plans);
  Conversations conversations(&store, &messages_, Conversations::Options{});

  v1::AdvanceReadsRequest advance;
  for (const std::string& uid : uids) {
    for (int g = 0; g < kGroups; ++g) {
      auto* item = advance.add_items();
      item->set_uid(uid);
      *item->mutable_channel() = Group(groups[g]);
      // Groups 0 and 2 have a fourth message; group 1 stays where Ensure put it (no move).
      const int64_t seq = g == 1 ? 3 : 4;
      item->set_read_seq(seq);
      item->set_red_dots(seq);
    }
  }
  ASSERT_EQ(advance.items_size(), kUsers * kGroups);
  const absl::Status advanced = conversations.AdvanceReads(advance);
  ASSERT_TRUE(advanced.ok()) << advanced;

  const std::map<std::string, int64_t> after = versions();
  for (const std::string& uid : uids) EXPECT_EQ(after.at(uid), before.at(uid) + 1) << uid;
  int64_t mismatched = -1, moved = -1;
  ASSERT_TRUE(pg_->Run([&](pqxx::connection& conn) {
                   pqxx::nontransaction tx(conn);
                   const pqxx::row row = tx.exec_params1(
                       "SELECT count(*) FILTER (WHERE c.read_seq = 4 AND c.version <> u.version), "
                       "count(*) FILTER (WHERE c.read_seq = 4) "
                       "FROM conversation.conversations c JOIN conversation.users u USING (uid) "
                       "WHERE uid = ANY($1::text[])",
                       uid_array);
                   mismatched = row[0].as<int64_t>();
                   moved = row[1].as<int64_t>();
                 })
                  .ok());
  EXPECT_EQ(moved, 2 * kUsers);
  EXPECT_EQ(mismatched, 0);
  const v1::SyncResponse sync = Sync(uids[7]);
  EXPECT_EQ(sync.conversations_size(), kGroups);
  for (const auto& conversation : sync.conversations()) EXPECT_EQ(conversation.unread(), 0u);
}

TEST_F(ConversationServiceTest, BadInput) {
  v1::SyncRequest request;
  request.set_uid(alice_);
  request.set_cursor("garbage");
  v1::SyncResponse response;
  EXPECT_TRUE(absl::IsInvalidArgument(conversations_->Sync(request, &response)));
  request.set_cursor(Sync(bob_).next_cursor());
  EXPECT_TRUE(absl::IsInvalidArgument(conversations_->Sync(request, &response)));
  request.set_cursor("");
  request.set_uid("no spaces allowed");
  EXPECT_TRUE(absl::IsInvalidArgument(conversations_->Sync(request, &response)));

  v1::SetMutedRequest mute;
  mute.set_uid(alice_);
  *mute.mutable_channel() = Person(carol_);
  const absl::Status missing = conversations_->SetMuted(mute).status();
  EXPECT_TRUE(absl::IsNotFound(missing)) << "a chat with no message is no conversation";
  // The message names the channel as the user sees it, never the internal key.
  EXPECT_NE(missing.message().find(absl::StrCat("person ", carol_)), std::string::npos) << missing;
  EXPECT_EQ(missing.message().find("p:"), std::string::npos) << missing;
  request.set_uid(alice_);
  request.add_exclude_channel_types(static_cast<im::common::v1::ChannelType>(9));
  const absl::Status excluded = conversations_->Sync(request, &response);
  EXPECT_TRUE(absl::IsInvalidArgument(excluded)) << excluded;
  EXPECT_NE(excluded.message().find("exclude_channel_types"), std::string::npos) << excluded;
  EXPECT_NE(excluded.message().find('9'), std::string::npos) << excluded;
  v1::ClearUnreadRequest clear;
  clear.set_uid(alice_);
  *clear.mutable_channel() = Group(group_);
  clear.set_read_seq(-1);
  EXPECT_TRUE(absl::IsInvalidArgument(conversations_->ClearUnread(clear).status()));
}

// Internal callers are checked like clients: a position the forward-only rule would keep for good
// is refused, as are batches beyond the bound of the other batch APIs.
TEST_F(ConversationServiceTest, InternalCallsRefuseImpossibleReadPositionsAndHugeBatches) {
  Ensure(alice_, Group(group_));
  messages_.Send(group_key_, bob_);
  v1::AdvanceReadsRequest advance;
  auto* item = advance.add_items();
  item->set_uid(alice_);
  *item->mutable_channel() = Group(group_);
  item->set_read_seq(std::numeric_limits<int64_t>::max());
  item->set_red_dots(-5);
  EXPECT_TRUE(absl::IsInvalidArgument(conversations_->AdvanceReads(advance)));
  item->set_read_seq(1);
  item->set_red_dots(2);  // more red dots than seqs
  EXPECT_TRUE(absl::IsInvalidArgument(conversations_->AdvanceReads(advance)));
  item->set_red_dots(1);
  item->set_own_red_dots(2);
  EXPECT_TRUE(absl::IsInvalidArgument(conversations_->AdvanceReads(advance)));

  v1::EnsureRequest ensure;
  for (int i = 0; i < 10001; ++i) {
    v1::EnsureItem* add = ensure.add_items();
    add->set_uid(absl::StrCat("u", i));
    *add->mutable_channel() = Group(group_);
  }
  EXPECT_TRUE(absl::IsInvalidArgument(conversations_->Ensure(ensure).status()));

  v1::GetChannelSeqsRequest seqs;
  seqs.set_uid(alice_);
  for (int i = 0; i < 10001; ++i) *seqs.add_channels() = Person(absl::StrCat("u", i));
  v1::GetChannelSeqsResponse response;
  EXPECT_TRUE(absl::IsInvalidArgument(conversations_->GetChannelSeqs(seqs, &response)));
  v1::SyncRequest sync;
  sync.set_uid(alice_);
  v1::SyncResponse synced;
  ASSERT_TRUE(conversations_->Sync(sync, &synced).ok());
  ASSERT_EQ(synced.conversations_size(), 1);
  EXPECT_EQ(synced.conversations(0).read_seq(), 0) << "nothing was stored";
}

// A uid that is not a subscriber of a group gets the message service's NOT_SUBSCRIBER for every
// change, and no conversation with the group; a subscriber without one yet gets it created.
TEST_F(ConversationServiceTest, ANonSubscriberGetsNotSubscriberAndNoConversation) {
  Ensure(bob_, Group(group_));
  messages_.Send(group_key_, bob_);
  messages_.Send(group_key_, bob_);

  v1::ClearUnreadRequest clear;
  clear.set_uid(carol_);
  *clear.mutable_channel() = Group(group_);
  v1::ClearUnreadRequest clear_some = clear;
  clear_some.set_read_seq(1);
  v1::SetUnreadRequest unread;
  unread.set_uid(carol_);
  *unread.mutable_channel() = Group(group_);
  unread.set_unread(1);
  v1::DeleteRequest remove;
  remove.set_uid(carol_);
  *remove.mutable_channel() = Group(group_);
  v1::SetPinnedRequest pin;
  pin.set_uid(carol_);
  *pin.mutable_channel() = Group(group_);
  pin.set_pinned(true);
  v1::SetMutedRequest mute;
  mute.set_uid(carol_);
  *mute.mutable_channel() = Group(group_);
  mute.set_muted(true);
  const std::vector<std::pair<const char*, absl::Status>> refusals = {
      {"clear unread", conversations_->ClearUnread(clear).status()},
      {"clear unread to a seq", conversations_->ClearUnread(clear_some).status()},
      {"set unread", conversations_->SetUnread(unread).status()},
      {"delete", conversations_->Delete(remove).status()},
      {"pin", conversations_->SetPinned(pin).status()},
      {"mute", conversations_->SetMuted(mute).status()},
  };
  for (const auto& [what, status] : refusals) {
    EXPECT_TRUE(absl::IsPermissionDenied(status)) << what << ": " << status;
    EXPECT_EQ(ReasonFor(status), im::common::v1::REASON_CODE_NOT_SUBSCRIBER) << what;
    EXPECT_NE(status.message().find(absl::StrCat("group ", group_)), std::string::npos) << what;
    EXPECT_EQ(status.message().find("g:"), std::string::npos) << what << ": " << status;
  }
  EXPECT_EQ(Sync(carol_).conversations_size(), 0) << "a refused change creates nothing";

  // A subscriber whose conversation was never created (joined before this service kept them)
  // gets it with its first change, read up to the head.
  messages_.Subscribe(group_, carol_);
  auto pinned = conversations_->SetPinned(pin);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_TRUE(pinned->pinned());
  EXPECT_EQ(pinned->read_seq(), 2);
  EXPECT_EQ(pinned->unread(), 0u);
}

// A reconnecting client asks for the seqs of the conversations it cached: each is answered on its
// own, so one it has no conversation with (or that is no channel at all) is one entry with a
// reason beside the others, in the order asked.
TEST_F(ConversationServiceTest, AListedSeqSnapshotAnswersEachChannel) {
  Ensure(alice_, Group(group_));
  Ensure(alice_, Person(bob_));
  messages_.Send(group_key_, bob_);
  messages_.Send(ChannelKey::For(alice_, Person(bob_))->str(), bob_);

  v1::GetChannelSeqsRequest request;
  request.set_uid(alice_);
  *request.add_channels() = Group(group_);
  *request.add_channels() = Person(carol_);
  *request.add_channels() = Person(alice_);
  *request.add_channels() = Person(bob_);
  v1::GetChannelSeqsResponse response;
  const absl::Status status = conversations_->GetChannelSeqs(request, &response);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(response.seqs_size(), 4);

  EXPECT_EQ(response.seqs(0).reason(), im::common::v1::REASON_CODE_SUCCESS);
  EXPECT_EQ(response.seqs(0).channel().id(), group_);
  EXPECT_EQ(response.seqs(0).max_seq(), 1);
  EXPECT_EQ(response.seqs(0).unread(), 1u);

  const v1::ChannelSeq& missing = response.seqs(1);
  EXPECT_EQ(missing.reason(), im::common::v1::REASON_CODE_NOT_FOUND);
  EXPECT_EQ(missing.channel().id(), carol_);
  EXPECT_EQ(missing.max_seq(), 0);
  EXPECT_NE(missing.message().find(absl::StrCat("person ", carol_)), std::string::npos)
      << missing.message();
  EXPECT_EQ(missing.message().find("p:"), std::string::npos) << missing.message();

  EXPECT_EQ(response.seqs(2).reason(), im::common::v1::REASON_CODE_INVALID_ARGUMENT);
  EXPECT_EQ(response.seqs(2).channel().id(), alice_);
  EXPECT_FALSE(response.seqs(2).message().empty());

  EXPECT_EQ(response.seqs(3).reason(), im::common::v1::REASON_CODE_SUCCESS);
  EXPECT_EQ(response.seqs(3).channel().id(), bob_);
  EXPECT_EQ(response.seqs(3).max_seq(), 1);
  EXPECT_EQ(response.seqs(3).unread(), 1u);

  // Every conversation: only entries that have one, each SUCCESS.
  request.clear_channels();
  response.Clear();
  ASSERT_TRUE(conversations_->GetChannelSeqs(request, &response).ok());
  ASSERT_EQ(response.seqs_size(), 2);
  for (const v1::ChannelSeq& seq : response.seqs()) {
    EXPECT_EQ(seq.reason(), im::common::v1::REASON_CODE_SUCCESS);
  }
}

}  // namespace
}  // namespace im::conversation
