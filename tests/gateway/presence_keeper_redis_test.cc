// PresenceKeeper against the real Redis: what it writes follows the SessionHub, so a connection
// that left before its registration ran, or that is not registered yet, never gets a stale or
// premature entry.
#include <gtest/gtest.h>

#include <future>

#include "services/gateway/presence_keeper.h"
#include "tests/fakes/fake_connection.h"
#include "tests/support/test_env.h"

namespace im::gateway {
namespace {

using im::testing::UniqueName;

class PresenceKeeperRedisTest : public ::testing::Test {
 protected:
  // Registers `conn` and waits for the answer.
  absl::Status RegisterAndWait(PresenceKeeper& keeper, std::shared_ptr<Connection> conn) {
    std::promise<absl::Status> written;
    keeper.Register(std::move(conn), [&](absl::Status status) { written.set_value(status); });
    return written.get_future().get();
  }

  bool Listed(const std::string& uid, const std::string& device) {
    auto found = presence_.Lookup({uid});
    EXPECT_TRUE(found.ok()) << found.status();
    if (!found.ok()) return false;
    for (const PresenceEntry& entry : (*found)[0]) {
      if (entry.device_id == device) return true;
    }
    return false;
  }

  std::unique_ptr<RedisPool> redis_ = im::testing::MakeRedisPool();
  // A 3 s TTL refreshes every second, so a refresh happens within the tests' waits.
  PresenceStore presence_{*redis_, absl::Seconds(3)};
  WorkerPool workers_{2, 64};
  SessionHub hub_;
};

TEST_F(PresenceKeeperRedisTest, AConnectionThatLeftTheHubBeforeItsWriteIsNotRegistered) {
  PresenceKeeper keeper(&presence_, &workers_, &hub_, "gw-test:1");
  const std::string uid = UniqueName("late");
  auto replaced = std::make_shared<FakeConnection>(uid, "old-phone", 1);
  auto newer = std::make_shared<FakeConnection>(uid, "new-phone", 1);
  hub_.Add(replaced, MultiDevicePolicy::kKickSameFlag);
  // The newer device replaces it while its registration is still on the way.
  ASSERT_EQ(hub_.Add(newer, MultiDevicePolicy::kKickSameFlag).size(), 1u);

  EXPECT_EQ(RegisterAndWait(keeper, replaced).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Listed(uid, "old-phone")) << "a replaced connection left a stale entry";
  EXPECT_TRUE(RegisterAndWait(keeper, newer).ok());
  EXPECT_TRUE(Listed(uid, "new-phone"));
}

TEST_F(PresenceKeeperRedisTest, RefreshWritesOnlyConnectionsAlreadyRegistered) {
  PresenceKeeper keeper(&presence_, &workers_, &hub_, "gw-test:1");
  keeper.Start();
  const std::string uid = UniqueName("pending");
  auto pending = std::make_shared<FakeConnection>(uid, "phone", 1);
  hub_.Add(pending, MultiDevicePolicy::kKickSameFlag);
  // Past a refresh tick: the connection is in the hub but its own registration has not run (the
  // multi-device kicker may still be reading what it replaces), so nothing is written for it.
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_FALSE(Listed(uid, "phone")) << "a refresh wrote a connection before its registration";

  ASSERT_TRUE(RegisterAndWait(keeper, pending).ok());
  EXPECT_TRUE(pending->in_presence());
  ASSERT_TRUE(redis_->Pipeline({{"DEL", "gw:pres:{" + uid + "}"}}).ok());
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_TRUE(Listed(uid, "phone")) << "a refresh did not rewrite a registered connection";
  keeper.Stop();
}

}  // namespace
}  // namespace im::gateway
