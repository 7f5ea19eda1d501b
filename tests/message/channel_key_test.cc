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

std::string KeyOf(std::string_view viewer, const Channel& channel) {
  absl::StatusOr<ChannelKey> key = ChannelKey::For(viewer, channel);
  return key.ok() ? key->str() : std::string(key.status().message());
}

absl::StatusCode CodeOf(std::string_view viewer, const Channel& channel) {
  return ChannelKey::For(viewer, channel).status().code();
}

TEST(ChannelKeyTest, PersonKeyIsTheSameFromBothSides) {
  EXPECT_EQ(KeyOf("bob", Person("alice")), "p:alice:bob");
  EXPECT_EQ(KeyOf("alice", Person("bob")), "p:alice:bob");
}

TEST(ChannelKeyTest, GroupKeyIgnoresTheViewer) {
  EXPECT_EQ(KeyOf("alice", Group("team-1")), "g:team-1");
  EXPECT_EQ(ChannelKey::Group("team-1")->str(), "g:team-1");
}

TEST(ChannelKeyTest, RejectsBadIdsAndTypes) {
  EXPECT_EQ(CodeOf("alice", Person("alice")), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf("alice", Person("")), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf("al:ice", Person("bob")), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf("alice", Group(std::string(kMaxIdBytes + 1, 'g'))),
            absl::StatusCode::kInvalidArgument);
  Channel untyped;
  untyped.set_id("x");
  EXPECT_EQ(CodeOf("alice", untyped), absl::StatusCode::kInvalidArgument);
  // An unknown type is named with its value.
  Channel future = Person("bob");
  future.set_type(static_cast<im::common::v1::ChannelType>(9));
  EXPECT_EQ(ChannelKey::For("alice", future).status(),
            absl::InvalidArgumentError("channel type must be PERSON or GROUP, not 9"));
  EXPECT_TRUE(ValidateId("user.1@example-mail_x", "uid").ok());
  EXPECT_FALSE(ValidateId("white space", "uid").ok());
  EXPECT_TRUE(ValidateId(std::string(kMaxIdBytes, 'u'), "uid").ok());
}

TEST(ChannelKeyTest, KnowsItsParts) {
  const ChannelKey person = *ChannelKey::For("zed", Person("amy"));
  EXPECT_TRUE(person.is_person());
  EXPECT_EQ(person.low_uid(), "amy");
  EXPECT_EQ(person.high_uid(), "zed");
  EXPECT_EQ(person.group_id(), "");
  const ChannelKey group = *ChannelKey::Group("team");
  EXPECT_TRUE(group.is_group());
  EXPECT_EQ(group.group_id(), "team");
  EXPECT_EQ(group.low_uid(), "");
}

TEST(ChannelKeyTest, ParsesWhatItBuildsAndNothingElse) {
  for (const ChannelKey& key : {*ChannelKey::For("zed", Person("amy")), *ChannelKey::Group("team"),
                                *ChannelKey::For("a", Person(std::string(kMaxIdBytes, 'b')))}) {
    absl::StatusOr<ChannelKey> parsed = ChannelKey::Parse(key.str());
    ASSERT_TRUE(parsed.ok()) << key.str();
    EXPECT_EQ(*parsed, key);
    EXPECT_EQ(parsed->low_uid(), key.low_uid());
    EXPECT_EQ(parsed->group_id(), key.group_id());
  }
  for (const char* bad :
       {"p:zed:amy", "p:amy:amy", "p:amy", "p::amy", "p:a:b:c", "g:", "g:a:b", "x:team", "", "g"}) {
    EXPECT_EQ(ChannelKey::Parse(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ChannelKeyTest, ShowsThePeerToEachSide) {
  const ChannelKey key = *ChannelKey::For("alice", Person("bob"));
  EXPECT_EQ(key.AsSeenBy("alice").id(), "bob");
  EXPECT_EQ(key.AsSeenBy("bob").id(), "alice");
  EXPECT_EQ(key.AsSeenBy("bob").type(), im::common::v1::CHANNEL_TYPE_PERSON);
  EXPECT_EQ(ChannelKey::Group("g")->AsSeenBy("bob").id(), "g");
  EXPECT_EQ(ChannelKey::Group("g")->AsSeenBy("bob").type(), im::common::v1::CHANNEL_TYPE_GROUP);
}

TEST(ChannelKeyTest, PersonChannelShowsThePeerToEachSide) {
  const Channel as_sent = Person("bob");
  EXPECT_EQ(ChannelAsSeenBy(as_sent, "alice", "bob").id(), "alice");
  EXPECT_EQ(ChannelAsSeenBy(as_sent, "alice", "alice").id(), "bob");
  EXPECT_EQ(ChannelAsSeenBy(Group("g"), "alice", "bob").id(), "g");
}

// The gateway and the message service compute lanes in separate processes, so the values are
// pinned: a hash with a per-process seed would give each process its own mapping.
TEST(ChannelKeyTest, ALaneIsTheSameInEveryProcess) {
  EXPECT_EQ(ChannelKey::For("alice", Person("bob"))->Lane(4), 0u);
  EXPECT_EQ(ChannelKey::Group("team")->Lane(4), 1u);
  EXPECT_EQ(ChannelKey::Group("b")->Lane(4), 2u);
  EXPECT_EQ(ChannelKey::For("x", Person("y"))->Lane(4), 3u);
  for (size_t count : {1, 3, 7}) EXPECT_LT(ChannelKey::Group("team")->Lane(count), count);
}

}  // namespace
}  // namespace im
