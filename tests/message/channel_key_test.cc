#include "services/message/public/channel_key.h"

#include <gtest/gtest.h>

namespace im {
namespace {

using im::common::v1::Channel;

Channel Person(const std::string& id) {
  Channel channel;
  channel.set_id(id);
  channel.set_type(im::common::v1::CHANNEL_TYPE_PERSON);
  return channel;
}

Channel Group(const std::string& id) {
  Channel channel;
  channel.set_id(id);
  channel.set_type(im::common::v1::CHANNEL_TYPE_GROUP);
  return channel;
}

TEST(ChannelKeyTest, PersonKeyIsTheSameFromBothSides) {
  EXPECT_EQ(*ChannelKeyFor("bob", Person("alice")), "p:alice:bob");
  EXPECT_EQ(*ChannelKeyFor("alice", Person("bob")), "p:alice:bob");
}

TEST(ChannelKeyTest, GroupKeyIgnoresTheViewer) {
  EXPECT_EQ(*ChannelKeyFor("alice", Group("team-1")), "g:team-1");
  EXPECT_EQ(*GroupChannelKey("team-1"), "g:team-1");
}

TEST(ChannelKeyTest, RejectsBadIdsAndTypes) {
  EXPECT_EQ(ChannelKeyFor("alice", Person("alice")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChannelKeyFor("alice", Person("")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChannelKeyFor("al:ice", Person("bob")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChannelKeyFor("alice", Group(std::string(kMaxIdBytes + 1, 'g'))).status().code(),
            absl::StatusCode::kInvalidArgument);
  Channel untyped;
  untyped.set_id("x");
  EXPECT_EQ(ChannelKeyFor("alice", untyped).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateId("user.1@example-mail_x", "uid").ok());
  EXPECT_FALSE(ValidateId("white space", "uid").ok());
  EXPECT_TRUE(ValidateId(std::string(kMaxIdBytes, 'u'), "uid").ok());
}

TEST(ChannelKeyTest, ParsesWhatItBuilds) {
  std::string low, high, group;
  ASSERT_TRUE(ParsePersonKey(*ChannelKeyFor("zed", Person("amy")), &low, &high));
  EXPECT_EQ(low, "amy");
  EXPECT_EQ(high, "zed");
  EXPECT_FALSE(ParsePersonKey("p:zed:amy", &low, &high));
  EXPECT_FALSE(ParsePersonKey("g:team", &low, &high));
  ASSERT_TRUE(ParseGroupKey("g:team", &group));
  EXPECT_EQ(group, "team");
  EXPECT_FALSE(ParseGroupKey("p:a:b", &group));
}

TEST(ChannelKeyTest, PersonChannelShowsThePeerToEachSide) {
  const Channel as_sent = Person("bob");
  EXPECT_EQ(ChannelAsSeenBy(as_sent, "alice", "bob").id(), "alice");
  EXPECT_EQ(ChannelAsSeenBy(as_sent, "alice", "alice").id(), "bob");
  EXPECT_EQ(ChannelAsSeenBy(Group("g"), "alice", "bob").id(), "g");
}

// The gateway and the message service compute lanes in separate processes, so the values are
// pinned: a hash with a per-process seed would give each process its own mapping.
TEST(ChannelKeyTest, LaneOfChannelIsTheSameInEveryProcess) {
  EXPECT_EQ(LaneOfChannel("p:alice:bob", 4), 0u);
  EXPECT_EQ(LaneOfChannel("g:team", 4), 1u);
  EXPECT_EQ(LaneOfChannel("g:b", 4), 2u);
  EXPECT_EQ(LaneOfChannel("p:x:y", 4), 3u);
  for (size_t count : {1, 3, 7}) EXPECT_LT(LaneOfChannel("g:team", count), count);
}

}  // namespace
}  // namespace im
