#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace im {
namespace {

TEST(WorkerPoolTest, RunsEveryAcceptedTask) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(4, 1000);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(pool.TrySubmit([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 500);
}

TEST(WorkerPoolTest, RefusesWhenQueueIsFull) {
  WorkerPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_TRUE(pool.TrySubmit([] {}));
  EXPECT_FALSE(pool.TrySubmit([] {}));
  release.set_value();
}

TEST(WorkerPoolTest, RefusesAfterShutdown) {
  WorkerPool pool(2, 10);
  pool.Shutdown();
  EXPECT_FALSE(pool.TrySubmit([] {}));
}

}  // namespace
}  // namespace im
