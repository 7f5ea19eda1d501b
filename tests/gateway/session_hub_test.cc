// SessionHub's multi-device policy and which connections a match selects, with fake connections.
#include "services/gateway/session_hub.h"

#include <gtest/gtest.h>

#include "tests/fakes/fake_connection.h"

namespace im::gateway {
namespace {

using namespace im::common::v1;

TEST(SessionHubTest, KickSameFlagReplacesOtherDevicesOfThatFlagOnly) {
  SessionHub hub;
  auto phone = Conn("alice", "phone", DEVICE_FLAG_APP);
  auto web = Conn("alice", "browser", DEVICE_FLAG_WEB);
  auto tablet = Conn("alice", "tablet", DEVICE_FLAG_APP);
  EXPECT_TRUE(hub.Add(phone, MultiDevicePolicy::kKickSameFlag).empty());
  EXPECT_TRUE(hub.Add(web, MultiDevicePolicy::kKickSameFlag).empty());
  std::vector<std::shared_ptr<Connection>> replaced =
      hub.Add(tablet, MultiDevicePolicy::kKickSameFlag);
  ASSERT_EQ(replaced.size(), 1u);
  EXPECT_EQ(replaced[0], phone);
  EXPECT_EQ(hub.Find("alice").size(), 2u);
  // The replaced connection is gone from the hub, so its own close reports nothing to unregister.
  EXPECT_FALSE(hub.Remove(*phone));
}

TEST(SessionHubTest, AllowKeepsDevicesButReplacesTheSameDevice) {
  SessionHub hub;
  auto phone = Conn("bob", "phone", DEVICE_FLAG_APP);
  auto tablet = Conn("bob", "tablet", DEVICE_FLAG_APP);
  auto phone_again = Conn("bob", "phone", DEVICE_FLAG_APP);
  EXPECT_TRUE(hub.Add(phone, MultiDevicePolicy::kAllow).empty());
  EXPECT_TRUE(hub.Add(tablet, MultiDevicePolicy::kAllow).empty());
  std::vector<std::shared_ptr<Connection>> replaced =
      hub.Add(phone_again, MultiDevicePolicy::kAllow);
  ASSERT_EQ(replaced.size(), 1u);
  EXPECT_EQ(replaced[0], phone);
  EXPECT_EQ(hub.size(), 2u);
}

TEST(SessionHubTest, RemoveTellsWhenTheDeviceIsGone) {
  SessionHub hub;
  auto tablet = Conn("carol", "tablet", DEVICE_FLAG_APP);
  auto web = Conn("carol", "browser", DEVICE_FLAG_WEB);
  hub.Add(tablet, MultiDevicePolicy::kAllow);
  hub.Add(web, MultiDevicePolicy::kAllow);
  EXPECT_TRUE(hub.Remove(*tablet));
  EXPECT_FALSE(hub.Remove(*tablet));
  EXPECT_EQ(hub.Find("carol").size(), 1u);
  EXPECT_TRUE(hub.Remove(*web));
  EXPECT_TRUE(hub.Find("carol").empty());
  EXPECT_EQ(hub.size(), 0u);
}

TEST(SessionHubTest, MatchingFiltersByFlagAndKeptDevice) {
  SessionHub hub;
  hub.Add(Conn("dave", "a", DEVICE_FLAG_APP), MultiDevicePolicy::kAllow);
  hub.Add(Conn("dave", "b", DEVICE_FLAG_APP), MultiDevicePolicy::kAllow);
  hub.Add(Conn("dave", "c", DEVICE_FLAG_WEB), MultiDevicePolicy::kAllow);
  EXPECT_EQ(hub.Matching("dave", {}).size(), 3u);
  EXPECT_EQ(hub.Matching("dave", {.device_flag = DEVICE_FLAG_APP}).size(), 2u);
  std::vector<std::shared_ptr<Connection>> kept_a =
      hub.Matching("dave", {.device_flag = DEVICE_FLAG_APP, .keep_device_id = "a"});
  ASSERT_EQ(kept_a.size(), 1u);
  EXPECT_EQ(kept_a[0]->info().device_id, "b");
  EXPECT_EQ(hub.Matching("dave", {.device_flag = DEVICE_FLAG_DESKTOP}).size(), 0u);
  EXPECT_EQ(hub.Matching("nobody", {}).size(), 0u);
}

TEST(SessionHubTest, MatchingADeviceIdSelectsOnlyThatDevice) {
  SessionHub hub;
  hub.Add(Conn("erin", "a", DEVICE_FLAG_APP), MultiDevicePolicy::kAllow);
  hub.Add(Conn("erin", "b", DEVICE_FLAG_APP), MultiDevicePolicy::kAllow);
  hub.Add(Conn("erin", "c", DEVICE_FLAG_WEB), MultiDevicePolicy::kAllow);
  std::vector<std::shared_ptr<Connection>> only_b =
      hub.Matching("erin", {.device_flag = DEVICE_FLAG_APP, .device_id = "b"});
  ASSERT_EQ(only_b.size(), 1u);
  EXPECT_EQ(only_b[0]->info().device_id, "b");
  EXPECT_EQ(hub.Matching("erin", {.device_id = "c"}).size(), 1u) << "any flag";
  EXPECT_TRUE(hub.Matching("erin", {.device_flag = DEVICE_FLAG_APP, .device_id = "c"}).empty())
      << "the device exists, but with another flag";
  EXPECT_TRUE(hub.Matching("erin", {.device_id = "z"}).empty());
  EXPECT_TRUE(hub.Matching("erin", {.keep_device_id = "b", .device_id = "b"}).empty());
}

}  // namespace
}  // namespace im::gateway
