// PresenceKeeper's refusals: a registration that cannot be written soon is answered at once, so the
// connection waiting for it is refused instead of hanging. No Redis call is made on these paths.
#include "services/gateway/presence_keeper.h"

#include <gtest/gtest.h>

#include <future>

#include "common/reason_codes.h"
#include "tests/fakes/fake_connection.h"

namespace im::gateway {
namespace {

std::shared_ptr<Connection> Phone() {
  return std::make_shared<FakeConnection>("alice", "phone", 1);
}

class PresenceKeeperTest : public ::testing::Test {
 protected:
  // Never reached: nothing listens on port 1, and these paths never write.
  RedisPool redis_{{.host = "127.0.0.1", .port = 1}};
  PresenceStore presence_{redis_, absl::Seconds(60)};
  SessionHub hub_;
};

TEST_F(PresenceKeeperTest, FullWorkerPoolRefusesTheRegistrationAtOnce) {
  WorkerPool workers(1, 1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // The one thread runs a blocker, and a second blocker fills the queue of one: only once the
  // thread has taken the first is the queue's one place known to be the second's.
  std::promise<void> running;
  ASSERT_TRUE(workers.TrySubmit([released, &running] {
    running.set_value();
    released.wait();
  }));
  running.get_future().wait();
  ASSERT_TRUE(workers.TrySubmit([released] { released.wait(); }));
  PresenceKeeper keeper(&presence_, &workers, &hub_, "gw:1");

  bool called = false;
  absl::Status got;
  keeper.Register(Phone(), [&](absl::Status status) {
    called = true;
    got = std::move(status);
  });
  EXPECT_TRUE(called) << "the registration waits for a refresh tick";
  EXPECT_EQ(got.code(), absl::StatusCode::kUnavailable) << got;
  EXPECT_EQ(ReasonFor(got), im::common::v1::REASON_CODE_UNAVAILABLE);
  release.set_value();
}

TEST_F(PresenceKeeperTest, StoppedKeeperRefusesWithServerShutdown) {
  WorkerPool workers(1, 16);
  PresenceKeeper keeper(&presence_, &workers, &hub_, "gw:1");
  keeper.Stop();

  bool called = false;
  absl::Status got;
  keeper.Register(Phone(), [&](absl::Status status) {
    called = true;
    got = std::move(status);
  });
  ASSERT_TRUE(called) << "the registration was dropped without an answer";
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(ReasonFor(got), im::common::v1::REASON_CODE_SERVER_SHUTDOWN);
}

}  // namespace
}  // namespace im::gateway
