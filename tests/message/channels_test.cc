// ChannelService logic on the test Postgres: groups, subscribers, paging and the error codes.
#include "tests/message/message_fixture.h"

namespace im::message {
namespace {

class MessageChannelsTest : public MessageFixture {};

TEST_F(MessageChannelsTest, GroupLifecycle) {
  v1::CreateGroupRequest create;
  create.set_group_id(testing::UniqueName("g"));
  create.set_name("team");
  create.add_subscriber_uids("u1");
  create.add_subscriber_uids("u2");
  absl::StatusOr<v1::Group> group = channels_->CreateGroup(create);
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ(group->subscriber_count(), 2u);
  EXPECT_GT(group->created_at(), 0);
  EXPECT_EQ(channels_->CreateGroup(create).status().code(), absl::StatusCode::kAlreadyExists);

  v1::UpdateGroupRequest update;
  update.set_group_id(create.group_id());
  update.set_extra(R"({"k":1})");
  absl::StatusOr<v1::Group> updated = channels_->UpdateGroup(update);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->name(), "team");
  EXPECT_EQ(updated->extra(), R"({"k":1})");

  v1::AddSubscribersRequest add;
  *add.mutable_channel() = Group(create.group_id());
  add.add_uids("u2");
  add.add_uids("u3");
  EXPECT_EQ(*channels_->AddSubscribers(add), 1u);
  v1::RemoveSubscribersRequest remove;
  *remove.mutable_channel() = Group(create.group_id());
  remove.add_uids("u1");
  remove.add_uids("nobody");
  EXPECT_EQ(*channels_->RemoveSubscribers(remove), 1u);

  v1::CheckSubscribersRequest check;
  *check.mutable_channel() = Group(create.group_id());
  check.add_uids("u1");
  check.add_uids("u3");
  EXPECT_EQ(*channels_->CheckSubscribers(check), std::vector<bool>({false, true}));
  *check.mutable_channel() = Person("u1");
  EXPECT_EQ(*channels_->CheckSubscribers(check), std::vector<bool>({false, true}));

  v1::DeleteGroupRequest del;
  del.set_group_id(create.group_id());
  EXPECT_TRUE(channels_->DeleteGroup(del).ok());
  EXPECT_TRUE(channels_->DeleteGroup(del).ok()) << "idempotent";
  EXPECT_EQ(channels_->UpdateGroup(update).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(channels_->AddSubscribers(add).status().code(), absl::StatusCode::kNotFound);
  *check.mutable_channel() = Group(create.group_id());
  EXPECT_EQ(channels_->CheckSubscribers(check).status().code(), absl::StatusCode::kNotFound);
  del.set_group_id(testing::UniqueName("never"));
  EXPECT_EQ(channels_->DeleteGroup(del).code(), absl::StatusCode::kNotFound);
}

TEST_F(MessageChannelsTest, ListPagesEverySubscriberOnce) {
  std::vector<std::string> uids;
  for (int i = 0; i < 25; ++i) uids.push_back(absl::StrCat("u", 100 + i));
  const std::string group = NewGroup(uids);
  v1::ListSubscribersRequest list;
  *list.mutable_channel() = Group(group);
  list.set_page_size(10);
  std::vector<std::string> seen;
  int pages = 0;
  do {
    absl::StatusOr<v1::ListSubscribersResponse> page = channels_->ListSubscribers(list);
    ASSERT_TRUE(page.ok()) << page.status();
    seen.insert(seen.end(), page->uids().begin(), page->uids().end());
    list.set_page_token(page->next_page_token());
    ++pages;
  } while (!list.page_token().empty());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, uids);
}

TEST_F(MessageChannelsTest, BadRequestsAreInvalidArgument) {
  v1::CreateGroupRequest create;
  create.set_group_id("bad id");
  EXPECT_EQ(channels_->CreateGroup(create).status().code(), absl::StatusCode::kInvalidArgument);
  create.set_group_id(testing::UniqueName("g"));
  create.add_subscriber_uids("");
  EXPECT_EQ(channels_->CreateGroup(create).status().code(), absl::StatusCode::kInvalidArgument);
  v1::AddSubscribersRequest add;
  *add.mutable_channel() = Person("u1");
  add.add_uids("u2");
  EXPECT_EQ(channels_->AddSubscribers(add).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace im::message
