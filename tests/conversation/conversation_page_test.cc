// The conversation list computation, without I/O.
#include "services/conversation/conversation_page.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "im/common/v1/common.pb.h"

namespace im::conversation {
namespace {

using im::conversation::v1::SyncCursor;

constexpr int64_t kMarginMs = 5000;

// One user's rows and the heads beside them, with a clock for the heads' snapshot.
class ListFixture : public ::testing::Test {
 protected:
  size_t Add(const std::string& key, int64_t last_seq, int64_t last_ms, int64_t version) {
    ConversationRow row;
    row.channel_key = key;
    row.version = version;
    row.updated_ms = 1;
    version_ = std::max(version_, version);
    rows_.push_back(row);
    heads_.push_back({last_seq, last_ms, last_seq, 0, last_ms});
    return rows_.size() - 1;
  }

  Page Build(const SyncCursor* cursor, uint32_t limit = 1000) {
    PageRequest request;
    request.uid = "alice";
    request.rows = &rows_;
    request.heads = &heads_;
    request.user_version = version_;
    request.heads_as_of_ms = now_ms_;
    request.activity_margin_ms = kMarginMs;
    request.cursor = cursor;
    request.limit = limit;
    request.only_unread = only_unread_;
    return BuildPage(request);
  }

  std::vector<std::string> Keys(const Page& page, bool deleted = false) {
    std::vector<std::string> keys;
    for (const PageEntry& e : page.entries) {
      if (e.deleted == deleted) keys.push_back(rows_[e.index].channel_key);
    }
    return keys;
  }

  std::vector<ConversationRow> rows_;
  std::vector<HeadCounters> heads_;
  int64_t version_ = 10;
  int64_t now_ms_ = 1'000'000;
  bool only_unread_ = false;
};

TEST(UnreadCountTest, CountsOnlyOthersRedDotsAfterTheReadPosition) {
  // 10 red-dot messages, 4 of them own; read up to the 6th red dot, of which 3 were own.
  const HeadCounters head{20, 0, 10, 4, 0};
  EXPECT_EQ(UnreadCount({12, 6, 3}, head), 3u);
  EXPECT_EQ(UnreadCount({20, 10, 4}, head), 0u);
  EXPECT_EQ(UnreadCount({0, 0, 0}, head), 6u);
}

TEST_F(ListFixture, FullSyncIsNewestFirstAndLeavesOutEmptyPersonChatsAndDeleted) {
  Add("p:alice:bob", 3, 500, 1);
  Add("g:team", 0, 0, 2);         // a group without messages is listed
  Add("p:alice:carol", 0, 0, 3);  // no message yet: not listed
  size_t gone = Add("g:old", 9, 900, 4);
  rows_[gone].deleted = true;
  rows_[gone].deleted_to_seq = 9;
  Add("g:new", 1, 700, 5);

  const Page page = Build(nullptr);
  EXPECT_EQ(Keys(page), (std::vector<std::string>{"g:new", "p:alice:bob", "g:team"}));
  EXPECT_TRUE(Keys(page, true).empty());
  EXPECT_FALSE(page.has_more);
}

TEST_F(ListFixture, IncrementalSyncReturnsOnlyChangesAndThenNothing) {
  Add("g:a", 5, 100'000, 1);
  Add("g:b", 5, 100'000, 2);
  const SyncCursor first = Build(nullptr).next_cursor;
  EXPECT_TRUE(Build(&first).entries.empty());

  now_ms_ += 60'000;
  heads_[0].last_seq = 6;
  heads_[0].activity_ms = now_ms_ - 10;  // a new message, inside the margin
  rows_[1].version = ++version_;         // a state change (e.g. pinned)
  const Page changed = Build(&first);
  EXPECT_EQ(changed.entries.size(), 2u);

  // Right after: nothing, although g:a's head is still inside the margin.
  const SyncCursor second = changed.next_cursor;
  EXPECT_TRUE(Build(&second).entries.empty());
  // A commit inside the margin that became visible late still counts.
  heads_[0].last_seq = 7;
  EXPECT_EQ(Keys(Build(&second)), std::vector<std::string>{"g:a"});
}

TEST_F(ListFixture, DeletedSinceTheCursorAreReportedAndComeBackWithANewMessage) {
  size_t a = Add("g:a", 5, 100'000, 1);
  const SyncCursor cursor = Build(nullptr).next_cursor;
  rows_[a].deleted = true;
  rows_[a].deleted_to_seq = 5;
  rows_[a].version = ++version_;
  Page page = Build(&cursor);
  EXPECT_EQ(Keys(page, true), std::vector<std::string>{"g:a"});
  EXPECT_TRUE(Keys(page).empty());

  const SyncCursor after_delete = page.next_cursor;
  heads_[a].last_seq = 6;
  heads_[a].activity_ms = now_ms_ + 1;
  page = Build(&after_delete);
  EXPECT_EQ(Keys(page), std::vector<std::string>{"g:a"});
}

TEST_F(ListFixture, PagingReturnsEachConversationExactlyOnce) {
  for (int i = 0; i < 1000; ++i) {
    // Many share an updated_at, so the key tie-break is exercised.
    Add(absl::StrCat("g:c", i), 1, 1000 + i % 37, i + 1);
  }
  std::multiset<std::string> seen;
  std::optional<SyncCursor> cursor;
  int pages = 0;
  while (true) {
    const Page page = Build(cursor ? &*cursor : nullptr, 64);
    for (const std::string& key : Keys(page)) seen.insert(key);
    cursor = page.next_cursor;
    ++pages;
    if (!page.has_more) break;
    ASSERT_LT(pages, 100);
  }
  EXPECT_EQ(pages, 16);
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 1000u);
  // The pass ends with a cursor that sees everything it covered.
  EXPECT_TRUE(Build(&*cursor).entries.empty());
}

TEST_F(ListFixture, AChangeDuringPagingIsReturnedByTheNextSync) {
  for (int i = 0; i < 10; ++i) Add(absl::StrCat("g:c", i), 1, 1000 + i, i + 1);
  const Page first = Build(nullptr, 5);
  ASSERT_TRUE(first.has_more);
  // The oldest (not yet returned) conversation gets a new message and jumps to the top.
  heads_[0].last_seq = 2;
  heads_[0].last_message_ms = now_ms_;
  heads_[0].activity_ms = now_ms_;
  const Page second = Build(&first.next_cursor, 5);
  EXPECT_FALSE(second.has_more);
  const Page after = Build(&second.next_cursor);
  EXPECT_EQ(Keys(after), std::vector<std::string>{"g:c0"});
}

TEST_F(ListFixture, OnlyUnreadAndExcludedTypesFilter) {
  Add("g:read", 3, 100, 1);
  size_t unread = Add("g:unread", 3, 100, 2);
  Add("p:alice:bob", 3, 100, 3);
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (i != unread) rows_[i].read = {3, 3, 0};
  }
  only_unread_ = true;
  EXPECT_EQ(Keys(Build(nullptr)), std::vector<std::string>{"g:unread"});
  only_unread_ = false;
  PageRequest request;
  request.uid = "alice";
  request.rows = &rows_;
  request.heads = &heads_;
  request.limit = 10;
  request.exclude_channel_types = {im::common::v1::CHANNEL_TYPE_GROUP};
  const Page page = BuildPage(request);
  ASSERT_EQ(page.entries.size(), 1u);
  EXPECT_EQ(rows_[page.entries[0].index].channel_key, "p:alice:bob");
}

}  // namespace
}  // namespace im::conversation
