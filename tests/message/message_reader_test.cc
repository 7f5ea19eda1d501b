// Reading history: covered ranges, has_more, direction, access rules and how each viewer sees
// a PERSON channel (DESIGN.md invariant 3).
#include "tests/message/message_fixture.h"

namespace im::message {
namespace {

class MessageSyncTest : public MessageFixture {
 protected:
  // Sends `count` messages a -> b and returns their seqs.
  std::vector<int64_t> Fill(const std::string& a, const std::string& b, int count) {
    std::vector<v1::SendItem> items;
    for (int i = 0; i < count; ++i) items.push_back(Item(a, Person(b), absl::StrCat("m", i)));
    std::vector<int64_t> seqs;
    for (const v1::SendResult& r : Send(items)) {
      EXPECT_EQ(r.reason(), im::common::v1::REASON_CODE_SUCCESS) << r.message();
      seqs.push_back(r.message_seq());
    }
    return seqs;
  }

  v1::SyncChannelMessagesResponse Sync(const std::string& uid, const Channel& channel,
                                       int64_t start, int64_t end, uint32_t limit,
                                       v1::SyncDirection direction) {
    v1::SyncChannelMessagesRequest request;
    request.set_uid(uid);
    *request.mutable_channel() = channel;
    request.set_start_seq(start);
    request.set_end_seq(end);
    request.set_limit(limit);
    request.set_direction(direction);
    absl::StatusOr<v1::SyncChannelMessagesResponse> response = reader_->Sync(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::SyncChannelMessagesResponse();
  }
};

TEST_F(MessageSyncTest, PagesCoverExactRangesInBothDirections) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::vector<int64_t> seqs = Fill(a, b, 25);
  ASSERT_EQ(seqs.front(), 1);
  ASSERT_EQ(seqs.back(), 25);

  v1::SyncChannelMessagesResponse newer = Sync(b, Person(a), 0, 0, 10, v1::SYNC_DIRECTION_NEWER);
  ASSERT_EQ(newer.messages_size(), 10);
  EXPECT_EQ(newer.messages(0).message_seq(), 1);
  EXPECT_EQ(newer.messages(9).message_seq(), 10);
  EXPECT_EQ(newer.covered().start_seq(), 1);
  EXPECT_EQ(newer.covered().end_seq(), 10);
  EXPECT_TRUE(newer.has_more());
  // The reader sees the chat as the sender's uid; the sender as the peer's.
  EXPECT_EQ(newer.messages(0).channel().id(), a);
  EXPECT_EQ(Sync(a, Person(b), 0, 0, 1, v1::SYNC_DIRECTION_NEWER).messages(0).channel().id(), b);
  EXPECT_EQ(newer.messages(3).payload(), "m3");
  EXPECT_TRUE(newer.messages(0).flags().red_dot());
  EXPECT_EQ(newer.messages(0).red_dot_ordinal() + 9, newer.messages(9).red_dot_ordinal());

  v1::SyncChannelMessagesResponse older = Sync(b, Person(a), 0, 0, 10, v1::SYNC_DIRECTION_OLDER);
  ASSERT_EQ(older.messages_size(), 10);
  EXPECT_EQ(older.messages(0).message_seq(), 16);
  EXPECT_EQ(older.messages(9).message_seq(), 25);
  EXPECT_EQ(older.covered().start_seq(), 16);
  EXPECT_EQ(older.covered().end_seq(), 25);
  EXPECT_TRUE(older.has_more());

  v1::SyncChannelMessagesResponse tail = Sync(b, Person(a), 21, 0, 10, v1::SYNC_DIRECTION_NEWER);
  ASSERT_EQ(tail.messages_size(), 5);
  EXPECT_EQ(tail.covered().start_seq(), 21);
  EXPECT_EQ(tail.covered().end_seq(), 25);
  EXPECT_FALSE(tail.has_more());

  // A range above everything committed covers nothing yet (a seq may still be in flight).
  v1::SyncChannelMessagesResponse above = Sync(b, Person(a), 30, 40, 10, v1::SYNC_DIRECTION_NEWER);
  EXPECT_EQ(above.messages_size(), 0);
  EXPECT_LT(above.covered().end_seq(), above.covered().start_seq());
  EXPECT_FALSE(above.has_more());

  // The limit is capped by the server (20 in the fixture).
  EXPECT_EQ(Sync(b, Person(a), 0, 0, 500, v1::SYNC_DIRECTION_NEWER).messages_size(), 20);
  // A closed range inside the history.
  v1::SyncChannelMessagesResponse middle = Sync(a, Person(b), 5, 7, 0, v1::SYNC_DIRECTION_OLDER);
  ASSERT_EQ(middle.messages_size(), 3);
  EXPECT_EQ(middle.covered().start_seq(), 5);
  EXPECT_EQ(middle.covered().end_seq(), 7);
  EXPECT_FALSE(middle.has_more());
}

TEST_F(MessageSyncTest, OnlyMembersReadAGroup) {
  const std::string a = testing::UniqueName("a"), outsider = testing::UniqueName("o");
  const std::string group = NewGroup({a});
  ASSERT_EQ(SendOne(Item(a, Group(group), "hi")).reason(), im::common::v1::REASON_CODE_SUCCESS);
  v1::SyncChannelMessagesRequest request;
  *request.mutable_channel() = Group(group);
  request.set_uid(outsider);
  EXPECT_EQ(reader_->Sync(request).status().code(), absl::StatusCode::kPermissionDenied);
  request.set_uid("");  // a trusted business call
  absl::StatusOr<v1::SyncChannelMessagesResponse> trusted = reader_->Sync(request);
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  EXPECT_EQ(trusted->messages_size(), 1);
  *request.mutable_channel() = Group(testing::UniqueName("none"));
  EXPECT_EQ(reader_->Sync(request).status().code(), absl::StatusCode::kNotFound);
  *request.mutable_channel() = Person(a);
  EXPECT_EQ(reader_->Sync(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MessageSyncTest, AnUnknownDirectionIsInvalidNotNewer) {
  const std::string a = testing::UniqueName("a");
  const std::string group = NewGroup({a});
  ASSERT_EQ(SendOne(Item(a, Group(group), "hi")).reason(), im::common::v1::REASON_CODE_SUCCESS);
  v1::SyncChannelMessagesRequest request;
  *request.mutable_channel() = Group(group);
  request.set_uid(a);
  request.set_direction(static_cast<v1::SyncDirection>(9));
  absl::StatusOr<v1::SyncChannelMessagesResponse> response = reader_->Sync(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(response.status().message().find("direction 9"), std::string::npos)
      << response.status();
}

TEST_F(MessageSyncTest, GetMessagesBySeqsAndIdsInRequestOrder) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  std::vector<v1::SendItem> items = {Item(a, Person(b), "one"), Item(a, Person(b), "two"),
                                     Item(a, Person(b), "three")};
  const std::vector<v1::SendResult> sent = Send(items);
  v1::GetMessagesRequest request;
  request.set_uid(b);
  *request.mutable_channel() = Person(a);
  request.add_seqs(3);
  request.add_seqs(99);
  request.add_seqs(1);
  absl::StatusOr<v1::GetMessagesResponse> by_seq = reader_->Get(request);
  ASSERT_TRUE(by_seq.ok()) << by_seq.status();
  ASSERT_EQ(by_seq->messages_size(), 2);
  EXPECT_EQ(by_seq->messages(0).payload(), "three");
  EXPECT_EQ(by_seq->messages(1).payload(), "one");

  request.clear_seqs();
  request.add_message_ids(sent[1].message_id());
  absl::StatusOr<v1::GetMessagesResponse> by_id = reader_->Get(request);
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  ASSERT_EQ(by_id->messages_size(), 1);
  EXPECT_EQ(by_id->messages(0).message_seq(), sent[1].message_seq());
  request.add_seqs(1);
  EXPECT_EQ(reader_->Get(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MessageSyncTest, PagesStopShortOfTheResponseBound) {
  RebuildPipeline({.max_payload_bytes = 64 * 1024}, {});
  MessageReader reader(channel_store_.get(), message_store_.get(),
                       {.default_limit = 100, .max_limit = 1000});
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  // 70 x 60 KB: a page of all of them would pass gRPC's 4 MiB limit and never arrive.
  std::vector<v1::SendItem> items;
  for (int i = 0; i < 70; ++i) items.push_back(Item(a, Person(b), std::string(60000, 'x')));
  for (const v1::SendResult& r : Send(items)) {
    ASSERT_EQ(r.reason(), im::common::v1::REASON_CODE_SUCCESS) << r.message();
  }

  for (const v1::SyncDirection direction : {v1::SYNC_DIRECTION_NEWER, v1::SYNC_DIRECTION_OLDER}) {
    SCOPED_TRACE(v1::SyncDirection_Name(direction));
    const bool older = direction == v1::SYNC_DIRECTION_OLDER;
    std::vector<int64_t> seen;
    int64_t start = 0, end = 0;
    for (int page = 0; page < 10; ++page) {
      v1::SyncChannelMessagesRequest request;
      request.set_uid(b);
      *request.mutable_channel() = Person(a);
      request.set_start_seq(start);
      request.set_end_seq(end);
      request.set_direction(direction);
      absl::StatusOr<v1::SyncChannelMessagesResponse> response = reader.Sync(request);
      ASSERT_TRUE(response.ok()) << response.status();
      EXPECT_LE(response->ByteSizeLong(), size_t{2} << 20);
      ASSERT_GT(response->messages_size(), 0);
      const int64_t first = response->messages(0).message_seq();
      const int64_t last = response->messages(response->messages_size() - 1).message_seq();
      // Exact coverage: the covered range is precisely the returned seqs (there are no gaps).
      EXPECT_EQ(response->covered().start_seq(),
                older && response->has_more() ? first : std::max<int64_t>(start, 1));
      EXPECT_EQ(response->covered().end_seq(), last);
      EXPECT_EQ(last - first + 1, response->messages_size());
      std::vector<int64_t> page_seqs;
      for (const auto& m : response->messages()) page_seqs.push_back(m.message_seq());
      seen.insert(older ? seen.begin() : seen.end(), page_seqs.begin(), page_seqs.end());
      if (!response->has_more()) break;
      (older ? end : start) = older ? first - 1 : last + 1;
    }
    ASSERT_EQ(seen.size(), 70u);
    for (int i = 0; i < 70; ++i) EXPECT_EQ(seen[i], i + 1);
  }

  v1::GetMessagesRequest get;
  get.set_uid(b);
  *get.mutable_channel() = Person(a);
  for (int i = 1; i <= 70; ++i) get.add_seqs(i);
  EXPECT_EQ(reader.Get(get).status().code(), absl::StatusCode::kInvalidArgument);
  get.clear_seqs();
  for (int i = 1; i <= 30; ++i) get.add_seqs(i);
  absl::StatusOr<v1::GetMessagesResponse> some = reader.Get(get);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_EQ(some->messages_size(), 30);
}

}  // namespace
}  // namespace im::message
