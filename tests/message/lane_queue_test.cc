#include "services/message/lane_queue.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace im::message {
namespace {

size_t Length(const std::string& s) { return s.size(); }

TEST(LaneQueueTest, RefusesFromTheFirstItemThatDoesNotFitOn) {
  LaneQueue<std::string> queue({.max_items = 10, .max_bytes = 5}, &Length);
  // "ccc" does not fit after "aa" + "b"; "d" would, but must not overtake a retry of "ccc".
  std::vector<std::string> refused = queue.PushAll({"aa", "b", "ccc", "d"});
  EXPECT_EQ(refused, (std::vector<std::string>{"ccc", "d"}));
  EXPECT_EQ(queue.PopBatch(10), (std::vector<std::string>{"aa", "b"}));
  // An item larger than the byte bound still fits an empty queue.
  EXPECT_TRUE(queue.PushAll({"larger than five"}).empty());
}

TEST(LaneQueueTest, BoundsTheItemCountAndTakesBatchesInOrder) {
  LaneQueue<std::string> queue({.max_items = 3, .max_bytes = 1000}, &Length);
  EXPECT_EQ(queue.PushAll({"1", "2", "3", "4"}), (std::vector<std::string>{"4"}));
  EXPECT_EQ(queue.PopBatch(2), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(queue.PopBatch(2), (std::vector<std::string>{"3"}));
}

TEST(LaneQueueTest, StopDrainsWhatIsQueuedAndRefusesTheRest) {
  LaneQueue<std::string> queue({.max_items = 10, .max_bytes = 1000}, &Length);
  ASSERT_TRUE(queue.PushAll({"a"}).empty());
  queue.Stop();
  EXPECT_EQ(queue.PushAll({"b"}), (std::vector<std::string>{"b"}));
  EXPECT_EQ(queue.PopBatch(10), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(queue.PopBatch(10).empty());
}

TEST(LaneQueueTest, PopBatchWaitsForWork) {
  LaneQueue<std::string> queue({.max_items = 10, .max_bytes = 1000}, &Length);
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    queue.PushAll({"late"});
  });
  EXPECT_EQ(queue.PopBatch(10), (std::vector<std::string>{"late"}));
  producer.join();
}

}  // namespace
}  // namespace im::message
