// Channel heads and read positions in-process against real Postgres: red-dot ordinals assigned at
// insert without gaps, head and sender counters, GetChannelHeads, GetReadPosition, and the calls
// to the conversation service (Ensure before a first person message and after group changes,
// AdvanceReads after acks), DESIGN.md invariants 5 and 6.
#include <algorithm>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "tests/message/message_fixture.h"

namespace im::message {
namespace {

using im::common::v1::REASON_CODE_SUCCESS;
using im::common::v1::REASON_CODE_UNAVAILABLE;
namespace cv1 = im::conversation::v1;

class MessageHeadsTest : public MessageFixture {
 protected:
  static std::string PersonKey(const std::string& a, const std::string& b) {
    return absl::StrCat("p:", std::min(a, b), ":", std::max(a, b));
  }

  static v1::SendItem Quiet(v1::SendItem item) {
    item.mutable_flags()->set_red_dot(false);
    return item;
  }

  // (seq, from_uid, red_dot_ordinal) of every stored message of the channel, by seq.
  std::vector<std::tuple<int64_t, std::string, int64_t>> Rows(const std::string& key) {
    std::vector<std::tuple<int64_t, std::string, int64_t>> rows;
    absl::Status status = pg_->Run([&](pqxx::connection& conn) {
      pqxx::read_transaction tx(conn);
      for (const auto& row :
           tx.exec_params("SELECT seq, from_uid, red_dot_ordinal FROM message.messages "
                          "WHERE channel_key = $1 ORDER BY seq",
                          key)) {
        rows.emplace_back(row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<int64_t>());
      }
    });
    EXPECT_TRUE(status.ok()) << status;
    return rows;
  }

  // Red-dot ordinals of the channel are exactly 1..n in seq order; returns n.
  int64_t ExpectGaplessOrdinals(const std::string& key) {
    int64_t n = 0;
    for (const auto& [seq, from, ordinal] : Rows(key)) {
      if (ordinal == 0) continue;
      EXPECT_EQ(ordinal, ++n) << "seq " << seq;
    }
    EXPECT_EQ(
        QueryInt(absl::StrCat(
            "SELECT COALESCE(max(red_dots), 0) FROM message.channel_heads WHERE channel_key = '",
            key, "'")),
        n);
    return n;
  }

  int64_t SenderHead(const std::string& key, const std::string& uid) {
    return QueryInt(
        absl::StrCat("SELECT COALESCE(max(red_dots), 0) FROM message.sender_heads WHERE ",
                     "channel_key = '", key, "' AND uid = '", uid, "'"));
  }

  StoredMessage Row(const std::string& key, int64_t seq, const std::string& from, bool red_dot,
                    const std::string& client_msg_no = "") {
    StoredMessage m;
    m.channel_key = key;
    m.seq = seq;
    m.message_id = ids_->Next(1).value().at(0);
    m.from_uid = from;
    m.client_msg_no = client_msg_no.empty() ? testing::UniqueName("c") : client_msg_no;
    m.red_dot = red_dot;
    m.payload = absl::StrCat("payload ", seq);
    m.created_ms = 1000 + seq;
    return m;
  }

  v1::ReadPosition Position(const std::string& uid, const Channel& channel, int64_t read_seq) {
    v1::GetReadPositionRequest request;
    request.set_uid(uid);
    *request.mutable_channel() = channel;
    request.set_read_seq(read_seq);
    absl::StatusOr<v1::ReadPosition> position = heads_->GetReadPosition(request);
    EXPECT_TRUE(position.ok()) << position.status();
    return position.value_or(v1::ReadPosition{});
  }

  v1::ReadPosition PositionForUnread(const std::string& uid, const Channel& channel,
                                     uint32_t unread) {
    v1::GetReadPositionRequest request;
    request.set_uid(uid);
    *request.mutable_channel() = channel;
    request.set_unread(unread);
    absl::StatusOr<v1::ReadPosition> position = heads_->GetReadPosition(request);
    EXPECT_TRUE(position.ok()) << position.status();
    return position.value_or(v1::ReadPosition{});
  }
};

TEST_F(MessageHeadsTest, OrdinalsAndHeadsFollowMixedSenders) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::string key = PersonKey(a, b);
  // a: red, quiet, red; b: red, quiet; a: red — in two batches.
  for (const v1::SendResult& r :
       Send({Item(a, Person(b), "1"), Quiet(Item(a, Person(b), "2")), Item(a, Person(b), "3")})) {
    ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
  }
  for (const v1::SendResult& r :
       Send({Item(b, Person(a), "4"), Quiet(Item(b, Person(a), "5")), Item(a, Person(b), "6")})) {
    ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
  }
  const auto rows = Rows(key);
  ASSERT_EQ(rows.size(), 6u);
  std::vector<int64_t> ordinals;
  for (const auto& row : rows) ordinals.push_back(std::get<2>(row));
  EXPECT_EQ(ordinals, (std::vector<int64_t>{1, 0, 2, 3, 0, 4}));
  EXPECT_EQ(ExpectGaplessOrdinals(key), 4);
  EXPECT_EQ(SenderHead(key, a), 3);
  EXPECT_EQ(SenderHead(key, b), 1);
  EXPECT_EQ(QueryInt(absl::StrCat(
                "SELECT last_seq FROM message.channel_heads WHERE channel_key = '", key, "'")),
            std::get<0>(rows.back()));
}

TEST_F(MessageHeadsTest, SkippedRowsTakeNoOrdinal) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::string key = PersonKey(a, b);
  absl::StatusOr<std::vector<InsertOutcome>> first = message_store_->InsertMessages(
      {Row(key, 1, a, true, "k1"), Row(key, 2, b, true), Row(key, 5, a, false)});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)[0].red_dot_ordinal, 1);
  EXPECT_EQ((*first)[1].red_dot_ordinal, 2);
  EXPECT_EQ((*first)[2].red_dot_ordinal, 0);
  EXPECT_EQ((*first)[2].red_dots, 2);
  EXPECT_EQ((*first)[2].own_red_dots, 1);

  // A duplicate sender key, a row below the head (superseded), a copy inside the batch, and two
  // new red-dot rows: only the new ones count.
  const StoredMessage fresh = Row(key, 7, b, true, "k7");
  StoredMessage copy = fresh;
  copy.seq = 8;
  copy.message_id = ids_->Next(1).value().at(0);
  const StoredMessage ninth = Row(key, 9, a, true);
  absl::StatusOr<std::vector<InsertOutcome>> second = message_store_->InsertMessages(
      {Row(key, 6, a, true, "k1"), Row(key, 4, a, true), fresh, copy, ninth});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)[0].kind, InsertOutcome::Kind::kDuplicate);
  EXPECT_EQ((*second)[0].existing->seq, 1);
  EXPECT_EQ((*second)[1].kind, InsertOutcome::Kind::kSuperseded);
  EXPECT_EQ((*second)[2].kind, InsertOutcome::Kind::kInserted);
  EXPECT_EQ((*second)[2].red_dot_ordinal, 3);
  EXPECT_EQ((*second)[2].own_red_dots, 2);
  EXPECT_EQ((*second)[3].kind, InsertOutcome::Kind::kDuplicate);
  EXPECT_EQ((*second)[3].existing->seq, 7);
  EXPECT_EQ((*second)[4].kind, InsertOutcome::Kind::kInserted);
  EXPECT_EQ((*second)[4].red_dot_ordinal, 4);
  EXPECT_EQ((*second)[4].red_dots, 4);
  EXPECT_EQ((*second)[4].own_red_dots, 2);

  // A batch that fails as a whole (a message id already taken) changes no head.
  StoredMessage clash = Row(key, 11, a, true);
  clash.message_id = ninth.message_id;
  EXPECT_FALSE(message_store_->InsertMessages({Row(key, 10, b, true), clash}).ok());
  absl::StatusOr<std::vector<InsertOutcome>> third =
      message_store_->InsertMessages({Row(key, 12, b, true)});
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ((*third)[0].red_dot_ordinal, 5);
  EXPECT_EQ(ExpectGaplessOrdinals(key), 5);
  EXPECT_EQ(SenderHead(key, a), 2);
  EXPECT_EQ(SenderHead(key, b), 3);
}

TEST_F(MessageHeadsTest, FanoutCarriesTheAssignedOrdinal) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const v1::SendItem quiet = Quiet(Item(a, Person(b), "q")), loud = Item(a, Person(b), "l");
  std::vector<SendOutcome> outcomes = ProcessAll(*processor_, {&quiet, &loud});
  ASSERT_TRUE(outcomes[0].fanout.has_value());
  ASSERT_TRUE(outcomes[1].fanout.has_value());
  EXPECT_EQ(outcomes[0].fanout->item.message().red_dot_ordinal(), 0);
  EXPECT_EQ(outcomes[1].fanout->item.message().red_dot_ordinal(), 1);
  EXPECT_FALSE(outcomes[0].read_advance.has_value());
  ASSERT_TRUE(outcomes[1].read_advance.has_value());
  EXPECT_EQ(outcomes[1].read_advance->read_seq(), outcomes[1].result.message_seq());
}

TEST_F(MessageHeadsTest, GetChannelHeadsCountsAndMessages) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::string nobody = testing::UniqueName("n");
  std::vector<v1::SendItem> items;
  for (int i = 1; i <= 5; ++i)
    items.push_back(Item(i % 2 == 1 ? a : b, Person(i % 2 ? b : a), absl::StrCat("m", i)));
  items.push_back(Quiet(Item(b, Person(a), "m6")));
  std::vector<v1::SendResult> sent = Send(items);
  for (const v1::SendResult& r : sent) ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();

  v1::GetChannelHeadsRequest request;
  request.set_uid(a);
  *request.add_channels() = Person(b);
  *request.add_channels() = Person(nobody);
  absl::StatusOr<v1::GetChannelHeadsResponse> bare = heads_->GetChannelHeads(request);
  ASSERT_TRUE(bare.ok()) << bare.status();
  ASSERT_EQ(bare->heads_size(), 2);
  EXPECT_GT(bare->as_of_ms(), 0);
  const v1::ChannelHead& head = bare->heads(0);
  EXPECT_EQ(head.channel().id(), b);
  EXPECT_EQ(head.last_seq(), sent.back().message_seq());
  EXPECT_EQ(head.last_message_ms(), sent.back().timestamp());
  EXPECT_EQ(head.red_dots(), 5);
  EXPECT_EQ(head.own_red_dots(), 3);
  EXPECT_GT(head.activity_ms(), 0);
  EXPECT_LE(head.activity_ms(), bare->as_of_ms());
  EXPECT_FALSE(head.has_last_message());
  EXPECT_EQ(head.recents_size(), 0);
  EXPECT_EQ(bare->heads(1).channel().id(), nobody);
  EXPECT_EQ(bare->heads(1).last_seq(), 0);
  EXPECT_EQ(bare->heads(1).red_dots(), 0);

  // With messages: the last 3 visible, ascending, as a sees them.
  request.set_with_messages(true);
  request.set_msg_count(3);
  absl::StatusOr<v1::GetChannelHeadsResponse> full = heads_->GetChannelHeads(request);
  ASSERT_TRUE(full.ok()) << full.status();
  const v1::ChannelHead& with = full->heads(0);
  ASSERT_TRUE(with.has_last_message());
  EXPECT_EQ(with.last_message().message_seq(), sent.back().message_seq());
  EXPECT_EQ(with.last_message().channel().id(), b);
  ASSERT_EQ(with.recents_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(with.recents(i).message_seq(), sent[3 + i].message_seq());
    EXPECT_EQ(with.recents(i).payload(), absl::StrCat("m", 4 + i));
  }
  EXPECT_FALSE(full->heads(1).has_last_message());

  // Hidden up to the 5th: only the 6th is visible; hidden up to the last: nothing.
  request.add_hidden_to_seqs(sent[4].message_seq());
  full = heads_->GetChannelHeads(request);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->heads(0).recents_size(), 1);
  EXPECT_EQ(full->heads(0).recents(0).message_seq(), sent[5].message_seq());
  EXPECT_TRUE(full->heads(0).has_last_message());
  request.set_hidden_to_seqs(0, sent.back().message_seq());
  request.set_msg_count(0);
  full = heads_->GetChannelHeads(request);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_FALSE(full->heads(0).has_last_message());
  EXPECT_EQ(full->heads(0).recents_size(), 0);
  EXPECT_EQ(full->heads(0).red_dots(), 5);

  // msg_count 0 with messages: the last message only.
  request.set_hidden_to_seqs(0, 0);
  full = heads_->GetChannelHeads(request);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_TRUE(full->heads(0).has_last_message());
  EXPECT_EQ(full->heads(0).recents_size(), 0);

  // Bad channels are refused.
  *request.add_channels() = Person(a);
  EXPECT_EQ(heads_->GetChannelHeads(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MessageHeadsTest, GetChannelHeadsForManyChannelsIsOneQuickStatement) {
  const std::string viewer = testing::UniqueName("v");
  v1::GetChannelHeadsRequest request;
  request.set_uid(viewer);
  for (int i = 0; i < 10000; ++i) *request.add_channels() = Person(absl::StrCat(viewer, "-", i));
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::GetChannelHeadsResponse> response = heads_->GetChannelHeads(request);
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->heads_size(), 10000);
  EXPECT_LT(took, absl::Milliseconds(500)) << took;
  request.set_with_messages(true);
  EXPECT_TRUE(heads_->GetChannelHeads(request).ok());
  *request.add_channels() = Person("one-too-many");
  EXPECT_EQ(heads_->GetChannelHeads(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MessageHeadsTest, ReadPositionAtASeq) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  // seq order: a, b, b(quiet), a, b
  std::vector<v1::SendResult> sent =
      Send({Item(a, Person(b), "1"), Item(b, Person(a), "2"), Quiet(Item(b, Person(a), "3")),
            Item(a, Person(b), "4"), Item(b, Person(a), "5")});
  for (const v1::SendResult& r : sent) ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
  const auto seq = [&](int i) { return sent[i - 1].message_seq(); };

  v1::ReadPosition p = Position(a, Person(b), seq(3));
  EXPECT_EQ(p.read_seq(), seq(3));
  EXPECT_EQ(p.red_dots(), 2);
  EXPECT_EQ(p.own_red_dots(), 1);
  p = Position(b, Person(a), seq(4));
  EXPECT_EQ(p.red_dots(), 3);
  EXPECT_EQ(p.own_red_dots(), 1);
  // 0 and anything above the last seq mean the last seq.
  for (int64_t target : {int64_t{0}, seq(5) + 100}) {
    p = Position(a, Person(b), target);
    EXPECT_EQ(p.read_seq(), seq(5));
    EXPECT_EQ(p.red_dots(), 4);
    EXPECT_EQ(p.own_red_dots(), 2);
  }
  p = Position(b, Person(a), seq(1));
  EXPECT_EQ(p.red_dots(), 1);
  EXPECT_EQ(p.own_red_dots(), 0);
  // A chat without messages.
  p = Position(a, Person(testing::UniqueName("n")), 5);
  EXPECT_EQ(p.read_seq(), 0);
  EXPECT_EQ(p.red_dots(), 0);
}

TEST_F(MessageHeadsTest, ReadPositionLeavingNUnreadSkipsOwnMessages) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  // seq order: b, a, b, a, b(quiet), b
  std::vector<v1::SendResult> sent =
      Send({Item(b, Person(a), "1"), Item(a, Person(b), "2"), Item(b, Person(a), "3"),
            Item(a, Person(b), "4"), Quiet(Item(b, Person(a), "5")), Item(b, Person(a), "6")});
  for (const v1::SendResult& r : sent) ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
  const auto seq = [&](int i) { return sent[i - 1].message_seq(); };
  const auto unread_at = [&](const v1::ReadPosition& p) {
    // head: 5 red dots, 2 of them a's.
    return (5 - p.red_dots()) - (2 - p.own_red_dots());
  };

  v1::ReadPosition p = PositionForUnread(a, Person(b), 1);
  EXPECT_EQ(p.read_seq(), seq(6) - 1);
  EXPECT_EQ(unread_at(p), 1);
  p = PositionForUnread(a, Person(b), 2);
  EXPECT_EQ(p.read_seq(), seq(3) - 1);
  EXPECT_EQ(p.red_dots(), 2);
  EXPECT_EQ(p.own_red_dots(), 1);
  EXPECT_EQ(unread_at(p), 2);
  p = PositionForUnread(a, Person(b), 3);
  EXPECT_EQ(p.read_seq(), seq(1) - 1);
  EXPECT_EQ(unread_at(p), 3);
  // More than there are: everything unread.
  p = PositionForUnread(a, Person(b), 4);
  EXPECT_EQ(p.read_seq(), 0);
  EXPECT_EQ(unread_at(p), 3);
  // 0 unread: read to the end.
  p = PositionForUnread(a, Person(b), 0);
  EXPECT_EQ(p.read_seq(), seq(6));
  EXPECT_EQ(unread_at(p), 0);

  v1::GetReadPositionRequest request;
  request.set_uid(a);
  *request.mutable_channel() = Person(b);
  request.set_unread(10001);
  EXPECT_EQ(heads_->GetReadPosition(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.set_read_seq(-1);
  EXPECT_EQ(heads_->GetReadPosition(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MessageHeadsTest, ReadPositionOfAGroupNeedsMembership) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::string group = NewGroup({a, b});
  ASSERT_EQ(SendOne(Item(a, Group(group), "1")).reason(), REASON_CODE_SUCCESS);
  v1::ReadPosition p = Position(b, Group(group), 0);
  EXPECT_EQ(p.red_dots(), 1);
  EXPECT_EQ(p.own_red_dots(), 0);
  v1::GetReadPositionRequest request;
  request.set_uid(testing::UniqueName("outsider"));
  *request.mutable_channel() = Group(group);
  EXPECT_EQ(heads_->GetReadPosition(request).status().code(), absl::StatusCode::kPermissionDenied);
  *request.mutable_channel() = Group(testing::UniqueName("nogroup"));
  EXPECT_EQ(heads_->GetReadPosition(request).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MessageHeadsTest, AFormerMemberGetsCountersButNoContent) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::string group = NewGroup({a, b});
  ASSERT_EQ(SendOne(Item(a, Group(group), "1")).reason(), REASON_CODE_SUCCESS);
  v1::GetChannelHeadsRequest request;
  request.set_uid(b);
  *request.add_channels() = Group(group);
  request.set_with_messages(true);
  request.set_msg_count(5);
  absl::StatusOr<v1::GetChannelHeadsResponse> member = heads_->GetChannelHeads(request);
  ASSERT_TRUE(member.ok()) << member.status();
  EXPECT_TRUE(member->heads(0).has_last_message());

  v1::RemoveSubscribersRequest remove;
  *remove.mutable_channel() = Group(group);
  remove.add_uids(b);
  ASSERT_TRUE(channels_->RemoveSubscribers(remove).ok());
  ASSERT_EQ(SendOne(Item(a, Group(group), "2")).reason(), REASON_CODE_SUCCESS);
  absl::StatusOr<v1::GetChannelHeadsResponse> former = heads_->GetChannelHeads(request);
  ASSERT_TRUE(former.ok()) << former.status();
  EXPECT_EQ(former->heads(0).last_seq(), 2);
  EXPECT_FALSE(former->heads(0).has_last_message());
  EXPECT_EQ(former->heads(0).recents_size(), 0);
}

TEST_F(MessageHeadsTest, EnsureOncePerNewPersonChat) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::string c = testing::UniqueName("c");
  ASSERT_EQ(SendOne(Item(a, Person(b), "1")).reason(), REASON_CODE_SUCCESS);
  ASSERT_EQ(SendOne(Item(b, Person(a), "2")).reason(), REASON_CODE_SUCCESS);
  // A second processor (another replica) finds the head in Postgres.
  SendProcessor other(Stores(), sequence_client_.get(), conversation_client_.get(), ids_.get(), {});
  const v1::SendItem again = Item(a, Person(b), "3");
  ASSERT_EQ(ProcessAll(other, {&again})[0].result.reason(), REASON_CODE_SUCCESS);
  // no_persist and sync_once make no conversation.
  v1::SendItem ephemeral = Item(a, Person(c), "e");
  ephemeral.mutable_flags()->set_no_persist(true);
  v1::SendItem cmd = Item(a, Person(c), "c");
  cmd.mutable_flags()->set_sync_once(true);
  for (const v1::SendResult& r : Send({ephemeral, cmd})) {
    ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
  }

  const std::vector<cv1::EnsureRequest> ensures = conversations_->Ensures();
  ASSERT_EQ(ensures.size(), 1u);
  ASSERT_EQ(ensures[0].items_size(), 2);
  std::map<std::string, std::string> peers;
  for (const cv1::EnsureItem& item : ensures[0].items()) {
    EXPECT_EQ(item.channel().type(), im::common::v1::CHANNEL_TYPE_PERSON);
    EXPECT_EQ(item.read_seq(), 0);
    peers[item.uid()] = item.channel().id();
  }
  EXPECT_EQ(peers, (std::map<std::string, std::string>{{a, b}, {b, a}}));
}

TEST_F(MessageHeadsTest, FailedEnsureFailsOnlyTheNewChat) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::string c = testing::UniqueName("c");
  ASSERT_EQ(SendOne(Item(a, Person(b), "known")).reason(), REASON_CODE_SUCCESS);
  conversations_->set_fail_ensure(true);
  const v1::SendItem known = Item(a, Person(b), "1"), fresh = Item(a, Person(c), "2");
  std::vector<SendOutcome> outcomes = ProcessAll(*processor_, {&known, &fresh});
  EXPECT_EQ(outcomes[0].result.reason(), REASON_CODE_SUCCESS) << outcomes[0].result.message();
  EXPECT_EQ(outcomes[1].result.reason(), REASON_CODE_UNAVAILABLE);
  EXPECT_NE(outcomes[1].result.message().find("conversation service"), std::string::npos)
      << outcomes[1].result.message();
  EXPECT_FALSE(outcomes[1].fanout.has_value());
  EXPECT_EQ(Rows(PersonKey(a, c)).size(), 0u);
  EXPECT_EQ(
      QueryInt(absl::StrCat("SELECT count(*) FROM message.channel_heads WHERE channel_key = '",
                            PersonKey(a, c), "'")),
      0);
  // Once it is back, the retry goes through.
  conversations_->set_fail_ensure(false);
  outcomes = ProcessAll(*processor_, {&fresh});
  EXPECT_EQ(outcomes[0].result.reason(), REASON_CODE_SUCCESS) << outcomes[0].result.message();
  EXPECT_EQ(outcomes[0].fanout->item.message().red_dot_ordinal(), 1);
}

TEST_F(MessageHeadsTest, ReadPositionMovesForwardToEachSendersLastMessage) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  ASSERT_EQ(SendOne(Item(b, Person(a), "0")).reason(), REASON_CODE_SUCCESS);
  ASSERT_EQ(conversations_->WaitForAdvances(1, absl::Seconds(5)).size(), 1u);
  // One batch: a, b, a(quiet): a's position is at its quiet message.
  std::vector<v1::SendResult> sent =
      Send({Item(a, Person(b), "1"), Item(b, Person(a), "2"), Quiet(Item(a, Person(b), "3"))});
  for (const v1::SendResult& r : sent) ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
  const std::vector<cv1::ReadAdvance> advances =
      conversations_->WaitForAdvances(3, absl::Seconds(5));
  ASSERT_EQ(advances.size(), 3u);
  std::map<std::string, cv1::ReadAdvance> by_uid;
  for (size_t i = 1; i < advances.size(); ++i) by_uid[advances[i].uid()] = advances[i];
  ASSERT_EQ(by_uid.size(), 2u);
  EXPECT_EQ(by_uid[a].channel().id(), b);
  EXPECT_EQ(by_uid[a].read_seq(), sent[2].message_seq());
  EXPECT_EQ(by_uid[a].red_dots(), 3);
  EXPECT_EQ(by_uid[a].own_red_dots(), 1);
  EXPECT_EQ(by_uid[b].channel().id(), a);
  EXPECT_EQ(by_uid[b].read_seq(), sent[1].message_seq());
  EXPECT_EQ(by_uid[b].red_dots(), 3);
  EXPECT_EQ(by_uid[b].own_red_dots(), 2);
  // Each equals what GetReadPosition says at that seq.
  for (const auto& [uid, advance] : by_uid) {
    const v1::ReadPosition p = Position(uid, advance.channel(), advance.read_seq());
    EXPECT_EQ(p.red_dots(), advance.red_dots()) << uid;
    EXPECT_EQ(p.own_red_dots(), advance.own_red_dots()) << uid;
  }
}

// DESIGN.md invariant 6: conversation state is computed at read time from the channel heads, so a
// send into a group of 500 writes the same rows as one into a group of 2, tells the conversation
// service only of its sender's read position, and every member's unread is still exact.
TEST_F(MessageHeadsTest, UnreadIsExactAtTheSameCostPerSendWhateverTheGroupSize) {
  // Every uid of a group starts with its group id, so any row a send writes for it mentions that.
  auto rows_mentioning = [this](const std::string& group) {
    int64_t rows = 0;
    absl::Status status = pg_->Run([&](pqxx::connection& conn) {
      pqxx::read_transaction tx(conn);
      for (const auto& table :
           tx.exec("SELECT table_name FROM information_schema.tables "
                   "WHERE table_schema = 'message' AND table_type = 'BASE TABLE'")) {
        rows += tx.exec_params1(absl::StrCat("SELECT count(*) FROM message.",
                                             tx.quote_name(table[0].as<std::string>()),
                                             " AS r WHERE strpos(row_to_json(r)::text, $1) > 0"),
                                group)[0]
                    .as<int64_t>();
      }
    });
    EXPECT_TRUE(status.ok()) << status;
    return rows;
  };
  const std::string small = testing::UniqueName("small"), big = testing::UniqueName("big");
  std::map<std::string, int64_t> last_seq, rows_written;
  for (const auto& [group, size] : {std::pair{small, 2}, std::pair{big, 500}}) {
    v1::CreateGroupRequest create;
    create.set_group_id(group);
    for (int i = 0; i < size; ++i) create.add_subscriber_uids(absl::StrCat(group, "-m", i));
    ASSERT_TRUE(channels_->CreateGroup(create).ok());
  }
  const size_t ensures = conversations_->Ensures().size();

  for (const std::string& group : {small, big}) {
    const std::string sender = absl::StrCat(group, "-m0");
    const int64_t before = rows_mentioning(group);
    std::vector<v1::SendItem> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(Item(sender, Group(group), "hi"));
    for (const v1::SendResult& r : Send(batch)) ASSERT_EQ(r.reason(), REASON_CODE_SUCCESS);
    const v1::SendResult last = SendOne(Item(sender, Group(group), "again"));
    ASSERT_EQ(last.reason(), REASON_CODE_SUCCESS) << last.message();
    last_seq[group] = last.message_seq();
    rows_written[group] = rows_mentioning(group) - before;
  }
  EXPECT_GT(rows_written[small], 0);
  EXPECT_EQ(rows_written[big], rows_written[small]) << "rows per member on send";
  EXPECT_EQ(conversations_->Ensures().size(), ensures) << "a group send ensured conversations";

  // Read positions move for the senders only, each to its last message.
  std::vector<cv1::ReadAdvance> advances;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(5); absl::Now() < deadline;) {
    advances = conversations_->WaitForAdvances(advances.size() + 1, absl::Milliseconds(100));
    if (!advances.empty() && advances.back().read_seq() == last_seq[big]) break;
  }
  ASSERT_FALSE(advances.empty());
  EXPECT_EQ(advances.back().read_seq(), last_seq[big]);
  for (const cv1::ReadAdvance& advance : advances) {
    EXPECT_EQ(advance.uid(), absl::StrCat(advance.channel().id(), "-m0"));
  }

  // The last member of the big group has all 6 unread; the sender has sent them all.
  v1::GetChannelHeadsRequest request;
  request.set_uid(absl::StrCat(big, "-m499"));
  *request.add_channels() = Group(big);
  absl::StatusOr<v1::GetChannelHeadsResponse> heads = heads_->GetChannelHeads(request);
  ASSERT_TRUE(heads.ok()) << heads.status();
  EXPECT_EQ(heads->heads(0).red_dots(), 6);
  EXPECT_EQ(heads->heads(0).own_red_dots(), 0);
  request.set_uid(absl::StrCat(big, "-m0"));
  heads = heads_->GetChannelHeads(request);
  ASSERT_TRUE(heads.ok()) << heads.status();
  EXPECT_EQ(heads->heads(0).own_red_dots(), 6);
}

TEST_F(MessageHeadsTest, GroupMembersGetConversationsAtTheHead) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::string c = testing::UniqueName("c");
  const std::string group = NewGroup({a, b});
  std::vector<cv1::EnsureRequest> ensures = conversations_->Ensures();
  ASSERT_EQ(ensures.size(), 1u);
  ASSERT_EQ(ensures[0].items_size(), 2);
  EXPECT_EQ(ensures[0].items(0).channel().id(), group);
  EXPECT_EQ(ensures[0].items(0).read_seq(), 0);

  std::vector<v1::SendResult> sent = Send({Item(a, Group(group), "1")});
  ASSERT_EQ(sent[0].reason(), REASON_CODE_SUCCESS);
  v1::AddSubscribersRequest add;
  *add.mutable_channel() = Group(group);
  add.add_uids(c);
  add.add_uids(a);
  absl::StatusOr<uint32_t> added = channels_->AddSubscribers(add);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(*added, 1u);
  ensures = conversations_->Ensures();
  ASSERT_EQ(ensures.size(), 2u);
  ASSERT_EQ(ensures[1].items_size(), 2);
  EXPECT_EQ(ensures[1].items(0).uid(), c);
  EXPECT_EQ(ensures[1].items(0).read_seq(), sent[0].message_seq());
  EXPECT_EQ(ensures[1].items(0).red_dots(), 1);
  EXPECT_EQ(ensures[1].items(0).own_red_dots(), 0);
  EXPECT_EQ(ensures[1].items(1).uid(), a);
  EXPECT_EQ(ensures[1].items(1).own_red_dots(), 1);

  // A failed Ensure says so; the retry repairs it.
  conversations_->set_fail_ensure(true);
  absl::StatusOr<uint32_t> failed = channels_->AddSubscribers(add);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(failed.status().message().find("AddSubscribers"), std::string::npos) << failed.status();
  v1::CreateGroupRequest create;
  create.set_group_id(testing::UniqueName("g"));
  create.add_subscriber_uids(a);
  EXPECT_EQ(channels_->CreateGroup(create).status().code(), absl::StatusCode::kUnavailable);
  conversations_->set_fail_ensure(false);
  EXPECT_TRUE(channels_->AddSubscribers(add).ok());
}

}  // namespace
}  // namespace im::message
