#include "common/connection_pool.h"

#include <gtest/gtest.h>

#include <atomic>

namespace im {
namespace {

struct FakeConn {
  int id;
};

TEST(ConnectionPoolTest, ReusesReturnedConnections) {
  std::atomic<int> opened{0};
  ConnectionPool<FakeConn> pool(2, absl::Milliseconds(50), [&] {
    return absl::StatusOr<std::unique_ptr<FakeConn>>(
        std::make_unique<FakeConn>(FakeConn{++opened}));
  });
  for (int i = 0; i < 10; ++i) {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok());
  }
  EXPECT_EQ(opened.load(), 1);
}

TEST(ConnectionPoolTest, BoundsOpenConnectionsAndTimesOut) {
  ConnectionPool<FakeConn> pool(2, absl::Milliseconds(50), [] {
    return absl::StatusOr<std::unique_ptr<FakeConn>>(std::make_unique<FakeConn>(FakeConn{0}));
  });
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = pool.Acquire();
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnavailable);
}

TEST(ConnectionPoolTest, BrokenConnectionIsReplaced) {
  std::atomic<int> opened{0};
  ConnectionPool<FakeConn> pool(1, absl::Milliseconds(50), [&] {
    return absl::StatusOr<std::unique_ptr<FakeConn>>(
        std::make_unique<FakeConn>(FakeConn{++opened}));
  });
  {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok());
    lease->MarkBroken();
  }
  auto lease = pool.Acquire();
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)->id, 2);
}

TEST(ConnectionPoolTest, IdleConnectionsThatFailTheProbeAreReplacedBeforeUse) {
  std::atomic<int> opened{0};
  std::atomic<int> dead_below{0};
  ConnectionPool<FakeConn> pool(
      2, absl::Milliseconds(50),
      [&] {
        return absl::StatusOr<std::unique_ptr<FakeConn>>(
            std::make_unique<FakeConn>(FakeConn{++opened}));
      },
      [&](FakeConn& conn) { return conn.id >= dead_below.load(); });
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    ASSERT_TRUE(a.ok() && b.ok());
  }
  // The server went away while both sat idle: neither is handed out, and the slots they held
  // are free for the new connection.
  dead_below = 3;
  auto lease = pool.Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ((*lease)->id, 3);
  auto second = pool.Acquire();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->id, 4);
}

TEST(ConnectionPoolTest, FailedOpenReturnsErrorAndFreesTheSlot) {
  bool fail = true;
  ConnectionPool<FakeConn> pool(1, absl::Milliseconds(50),
                                [&]() -> absl::StatusOr<std::unique_ptr<FakeConn>> {
                                  if (fail) return absl::UnavailableError("down");
                                  return std::make_unique<FakeConn>(FakeConn{7});
                                });
  EXPECT_EQ(pool.Acquire().status().code(), absl::StatusCode::kUnavailable);
  fail = false;
  auto lease = pool.Acquire();
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)->id, 7);
}

}  // namespace
}  // namespace im
