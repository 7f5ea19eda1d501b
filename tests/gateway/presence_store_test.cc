#include "services/gateway/public/presence_store.h"

#include <gtest/gtest.h>

#include "tests/support/test_env.h"

namespace im {
namespace {

using im::testing::UniqueName;

gateway::PresenceEntry Entry(const std::string& uid, const std::string& device,
                             const std::string& gateway, int flag = 1) {
  gateway::PresenceEntry entry;
  entry.uid = uid;
  entry.device_id = device;
  entry.device_flag = flag;
  entry.gateway = gateway;
  entry.connected_at_ms = 1700000000000;
  return entry;
}

class PresenceTest : public ::testing::Test {
 protected:
  std::unique_ptr<RedisPool> redis_ = im::testing::MakeRedisPool();
};

TEST_F(PresenceTest, LookupReturnsEachUidsDevicesInOrder) {
  gateway::PresenceStore presence(*redis_, absl::Seconds(30));
  const std::string alice = UniqueName("alice"), bob = UniqueName("bob"), carol = UniqueName("c");
  ASSERT_TRUE(presence
                  .Register({Entry(alice, "phone", "10.0.0.1:7002"),
                             Entry(alice, "laptop", "10.0.0.2:7002", 3),
                             Entry(bob, "phone", "10.0.0.1:7002")})
                  .ok());
  auto found = presence.Lookup({bob, carol, alice});
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 3u);
  ASSERT_EQ((*found)[0].size(), 1u);
  EXPECT_EQ((*found)[0][0].uid, bob);
  EXPECT_EQ((*found)[0][0].gateway, "10.0.0.1:7002");
  EXPECT_TRUE((*found)[1].empty());
  ASSERT_EQ((*found)[2].size(), 2u);
  for (const gateway::PresenceEntry& entry : (*found)[2]) {
    EXPECT_EQ(entry.uid, alice);
    EXPECT_EQ(entry.device_flag, entry.device_id == "laptop" ? 3 : 1);
    EXPECT_EQ(entry.connected_at_ms, 1700000000000);
    EXPECT_GT(entry.expires_at_ms, absl::ToUnixMillis(absl::Now()));
  }
}

TEST_F(PresenceTest, UnregisterKeepsADeviceThatMovedToAnotherGateway) {
  gateway::PresenceStore presence(*redis_, absl::Seconds(30));
  const std::string uid = UniqueName("mover");
  ASSERT_TRUE(presence.Register({Entry(uid, "phone", "gw-a:1")}).ok());
  ASSERT_TRUE(presence.Register({Entry(uid, "phone", "gw-b:1")}).ok());
  // gw-a learns late that its old connection closed; the newer entry on gw-b must stay.
  ASSERT_TRUE(presence.Unregister("gw-a:1", {{uid, "phone"}}).ok());
  auto found = presence.Lookup({uid});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ((*found)[0].size(), 1u);
  EXPECT_EQ((*found)[0][0].gateway, "gw-b:1");

  ASSERT_TRUE(presence.Unregister("gw-b:1", {{uid, "phone"}}).ok());
  found = presence.Lookup({uid});
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE((*found)[0].empty());
}

TEST_F(PresenceTest, NewerConnectionSurvivesAnOlderGatewaysRefresh) {
  gateway::PresenceStore presence(*redis_, absl::Seconds(30));
  const std::string uid = UniqueName("flapper");
  gateway::PresenceEntry old_socket = Entry(uid, "phone", "gw-a:1");
  gateway::PresenceEntry reconnect = Entry(uid, "phone", "gw-b:1");
  reconnect.connected_at_ms = old_socket.connected_at_ms + 5000;
  ASSERT_TRUE(presence.Register({old_socket}).ok());
  ASSERT_TRUE(presence.Register({reconnect}).ok());
  // gw-a still holds the half-open socket and refreshes it; the device must stay on gw-b.
  ASSERT_TRUE(presence.Register({old_socket}).ok());
  auto found = presence.Lookup({uid});
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ((*found)[0].size(), 1u);
  EXPECT_EQ((*found)[0][0].gateway, "gw-b:1");
  EXPECT_EQ((*found)[0][0].connected_at_ms, reconnect.connected_at_ms);

  // gw-b's own refresh still extends its entry.
  const int64_t first_expiry = (*found)[0][0].expires_at_ms;
  absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(presence.Register({reconnect}).ok());
  found = presence.Lookup({uid});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ((*found)[0].size(), 1u);
  EXPECT_GT((*found)[0][0].expires_at_ms, first_expiry);

  // A connection newer still, back on gw-a, takes the device over again.
  gateway::PresenceEntry back = Entry(uid, "phone", "gw-a:1");
  back.connected_at_ms = reconnect.connected_at_ms + 1;
  ASSERT_TRUE(presence.Register({back}).ok());
  found = presence.Lookup({uid});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ((*found)[0].size(), 1u);
  EXPECT_EQ((*found)[0][0].gateway, "gw-a:1");
}

TEST_F(PresenceTest, AnExpiredNewerEntryDoesNotBlockARegistration) {
  gateway::PresenceStore short_lived(*redis_, absl::Milliseconds(300));
  gateway::PresenceStore long_lived(*redis_, absl::Seconds(30));
  const std::string uid = UniqueName("revived");
  gateway::PresenceEntry dead = Entry(uid, "phone", "dead-gw:1");
  dead.connected_at_ms += 5000;
  ASSERT_TRUE(short_lived.Register({dead}).ok());
  // A second device keeps the key alive past the dead entry's own expiry.
  ASSERT_TRUE(long_lived.Register({Entry(uid, "laptop", "live-gw:1", 3)}).ok());
  absl::SleepFor(absl::Milliseconds(400));
  ASSERT_TRUE(long_lived.Register({Entry(uid, "phone", "live-gw:1")}).ok());
  auto found = long_lived.Lookup({uid});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ((*found)[0].size(), 2u);
  for (const gateway::PresenceEntry& entry : (*found)[0]) EXPECT_EQ(entry.gateway, "live-gw:1");
}

TEST_F(PresenceTest, ExpiredEntriesAreNotReturned) {
  gateway::PresenceStore short_lived(*redis_, absl::Milliseconds(300));
  gateway::PresenceStore long_lived(*redis_, absl::Seconds(30));
  const std::string uid = UniqueName("crashed");
  ASSERT_TRUE(short_lived.Register({Entry(uid, "old", "dead-gw:1")}).ok());
  ASSERT_TRUE(long_lived.Register({Entry(uid, "new", "live-gw:1")}).ok());
  absl::SleepFor(absl::Milliseconds(400));
  auto found = long_lived.Lookup({uid});
  ASSERT_TRUE(found.ok());
  ASSERT_EQ((*found)[0].size(), 1u);
  EXPECT_EQ((*found)[0][0].device_id, "new");
}

TEST_F(PresenceTest, KeyExpiresWhenItsGatewayStopsRefreshing) {
  gateway::PresenceStore presence(*redis_, absl::Milliseconds(200));
  const std::string uid = UniqueName("gone");
  ASSERT_TRUE(presence.Register({Entry(uid, "phone", "gw:1")}).ok());
  absl::SleepFor(absl::Milliseconds(400));
  auto exists = redis_->Pipeline({{"EXISTS", "gw:pres:{" + uid + "}"}});
  ASSERT_TRUE(exists.ok());
  EXPECT_EQ((*exists)[0].integer, 0);
}

}  // namespace
}  // namespace im
