// SendBatcher against an in-process fake MessageService: batching while a call is in flight,
// per-channel order, per-item results, whole-call failures, the size bounds, and shards that
// follow the lane count the message service answers with.
#include "services/gateway/send_batcher.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/message/public/channel_key.h"
#include "tests/support/channel_release.h"

namespace im::gateway {
namespace {

ChannelKey GroupKey(const std::string& id) { return *ChannelKey::Group(id); }

using im::message::v1::SendItem;
using im::message::v1::SendRequest;
using im::message::v1::SendResponse;

// Answers each item with the next seq of its channel, after `delay`, with `lanes` as its lane
// count (0: none); or fails every call.
class FakeMessageService final : public im::message::v1::MessageService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context, const SendRequest* request,
                                 SendResponse* response) override {
    std::this_thread::sleep_for(delay);
    std::lock_guard<std::mutex> lock(mu);
    batch_sizes.push_back(request->items_size());
    std::vector<std::string>& channels = calls.emplace_back();
    for (const SendItem& item : request->items()) channels.push_back(item.channel().id());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (!failure.ok()) {
      reactor->Finish(failure);
      return reactor;
    }
    response->set_send_lanes(lanes);
    for (const SendItem& item : request->items()) {
      im::message::v1::SendResult* result = response->add_results();
      result->set_reason(im::common::v1::REASON_CODE_SUCCESS);
      result->set_message_seq(++seqs[item.channel().id()]);
      result->set_message_id(static_cast<uint64_t>(seqs[item.channel().id()]));
      received.push_back(item.client_msg_no());
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::chrono::milliseconds delay{0};
  grpc::Status failure = grpc::Status::OK;
  uint32_t lanes = 0;
  std::mutex mu;
  std::vector<int> batch_sizes;
  // The channel ids of each call's items.
  std::vector<std::vector<std::string>> calls;
  std::vector<std::string> received;
  std::map<std::string, int64_t> seqs;
};

class SendBatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
    stub_ = im::message::v1::MessageService::NewStub(channel_);
  }
  void TearDown() override {
    stub_.reset();
    EXPECT_TRUE(im::testing::ReleaseChannel(channel_)) << "a call outlived its test";
    server_->Shutdown();
  }

  SendItem Item(const std::string& channel, const std::string& client_msg_no,
                size_t payload_bytes = 1) {
    SendItem item;
    item.mutable_channel()->set_id(channel);
    item.mutable_channel()->set_type(im::common::v1::CHANNEL_TYPE_GROUP);
    item.set_from_uid("alice");
    item.set_client_msg_no(client_msg_no);
    item.set_payload(std::string(payload_bytes, 'x'));
    return item;
  }

  // Collects outcomes by client_msg_no and lets a test wait for n of them.
  struct Outcomes {
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, SendOutcome> by_msg;
    std::vector<std::string> order;

    SendBatcher::Callback For(const std::string& client_msg_no) {
      return [this, client_msg_no](const SendOutcome& outcome) {
        std::lock_guard<std::mutex> lock(mu);
        by_msg[client_msg_no] = outcome;
        order.push_back(client_msg_no);
        cv.notify_all();
      };
    }
    bool WaitFor(size_t n) {
      std::unique_lock<std::mutex> lock(mu);
      return cv.wait_for(lock, std::chrono::seconds(10), [&] { return by_msg.size() >= n; });
    }
  };

  // Submits `per_channel` items to each of `channels` group channels ("c0", "c1", ...) round robin,
  // named "<channel>/<n>", and waits for their outcomes.
  static void SubmitAll(SendBatcher& batcher, Outcomes& outcomes, int channels, int per_channel,
                        const std::string& tag) {
    for (int n = 0; n < per_channel; ++n) {
      for (int c = 0; c < channels; ++c) {
        const std::string channel = absl::StrCat("c", c);
        const std::string msg = absl::StrCat(channel, "/", tag, n);
        SendItem item;
        item.mutable_channel()->set_id(channel);
        item.mutable_channel()->set_type(im::common::v1::CHANNEL_TYPE_GROUP);
        item.set_from_uid("alice");
        item.set_client_msg_no(msg);
        ASSERT_TRUE(batcher.Submit(GroupKey(channel), std::move(item), outcomes.For(msg)));
      }
    }
  }

  FakeMessageService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<im::message::v1::MessageService::StubInterface> stub_;
};

TEST_F(SendBatcherTest, BatchesWhileACallIsInFlightAndKeepsChannelOrder) {
  service_.delay = std::chrono::milliseconds(50);
  Outcomes outcomes;
  {
    SendBatcher batcher(stub_, {.max_batch = 64});
    for (int i = 0; i < 100; ++i) {
      const std::string msg = absl::StrCat("m", i);
      ASSERT_TRUE(batcher.Submit(GroupKey("team"), Item("team", msg), outcomes.For(msg)));
    }
    ASSERT_TRUE(outcomes.WaitFor(100));
  }
  std::lock_guard<std::mutex> lock(service_.mu);
  // The first item goes alone; the rest queued behind it and travel in at most 64-item calls.
  ASSERT_GE(service_.batch_sizes.size(), 3u);
  EXPECT_EQ(service_.batch_sizes.front(), 1);
  for (int size : service_.batch_sizes) EXPECT_LE(size, 64);
  for (int i = 0; i < 100; ++i) {
    const std::string msg = absl::StrCat("m", i);
    EXPECT_EQ(service_.received[i], msg);
    EXPECT_TRUE(outcomes.by_msg[msg].status.ok());
    EXPECT_EQ(outcomes.by_msg[msg].result.message_seq(), i + 1) << msg;
  }
}

TEST_F(SendBatcherTest, AFailedCallFailsEachOfItsItems) {
  service_.failure = grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
  Outcomes outcomes;
  SendBatcher batcher(stub_, {});
  ASSERT_TRUE(batcher.Submit(GroupKey("a"), Item("a", "x"), outcomes.For("x")));
  ASSERT_TRUE(batcher.Submit(GroupKey("b"), Item("b", "y"), outcomes.For("y")));
  ASSERT_TRUE(outcomes.WaitFor(2));
  for (const char* msg : {"x", "y"}) {
    EXPECT_EQ(outcomes.by_msg[msg].status.error_code(), grpc::StatusCode::UNAVAILABLE);
  }
}

TEST_F(SendBatcherTest, BatchBytesAreBounded) {
  service_.delay = std::chrono::milliseconds(50);
  Outcomes outcomes;
  {
    SendBatcher batcher(stub_, {.max_batch = 100, .max_batch_bytes = 3000});
    for (int i = 0; i < 10; ++i) {
      const std::string msg = absl::StrCat("m", i);
      ASSERT_TRUE(batcher.Submit(GroupKey("big"), Item("big", msg, 1000), outcomes.For(msg)));
    }
    ASSERT_TRUE(outcomes.WaitFor(10));
  }
  std::lock_guard<std::mutex> lock(service_.mu);
  for (int size : service_.batch_sizes) EXPECT_LE(size, 2);
  EXPECT_EQ(service_.received.size(), 10u);
}

TEST_F(SendBatcherTest, AFullQueueRefuses) {
  service_.delay = std::chrono::milliseconds(200);
  Outcomes outcomes;
  SendBatcher batcher(stub_, {.max_batch = 10, .max_queue = 3});
  // One in flight, three queued, the fifth refused.
  for (int i = 0; i < 4; ++i) {
    const std::string msg = absl::StrCat("m", i);
    ASSERT_TRUE(batcher.Submit(GroupKey("q"), Item("q", msg), outcomes.For(msg)));
  }
  EXPECT_FALSE(batcher.Submit(GroupKey("q"), Item("q", "m4"), outcomes.For("m4")));
  ASSERT_TRUE(outcomes.WaitFor(4));
  EXPECT_EQ(outcomes.by_msg.count("m4"), 0u);
}

// Whether the batcher regrouped into `shards` shards within 5 s (it does after the callbacks of
// the call whose answer completed the change).
bool WaitForShards(const SendBatcher& batcher, size_t shards) {
  for (int i = 0; i < 500 && batcher.shards() != shards; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return batcher.shards() == shards;
}

// The lanes (of `lanes`) the channels of one call fall on.
std::set<size_t> LanesOf(const std::vector<std::string>& channels, size_t lanes) {
  std::set<size_t> out;
  for (const std::string& channel : channels) {
    out.insert(GroupKey(channel).Lane(lanes));
  }
  return out;
}

TEST_F(SendBatcherTest, EachCallTakesOneLaneOnceTheMessageServiceToldItsLaneCount) {
  service_.delay = std::chrono::milliseconds(20);
  service_.lanes = 4;
  Outcomes outcomes;
  {
    SendBatcher batcher(stub_, {.max_batch = 16});
    EXPECT_EQ(batcher.shards(), 1u);
    SubmitAll(batcher, outcomes, 40, 10, "");
    ASSERT_TRUE(outcomes.WaitFor(400));
    EXPECT_TRUE(WaitForShards(batcher, 4));
  }
  std::lock_guard<std::mutex> lock(service_.mu);
  // Only the first call went out before an answer named the lanes.
  ASSERT_GT(service_.calls.size(), 4u);
  for (size_t i = 1; i < service_.calls.size(); ++i) {
    EXPECT_EQ(LanesOf(service_.calls[i], 4).size(), 1u) << "call " << i;
  }
  // Each channel's items arrived in submit order: the n-th got seq n + 1.
  for (const auto& [msg, outcome] : outcomes.by_msg) {
    ASSERT_TRUE(outcome.status.ok()) << msg;
    EXPECT_EQ(outcome.result.message_seq(), std::stoi(msg.substr(msg.find('/') + 1)) + 1) << msg;
  }
}

TEST_F(SendBatcherTest, ANewLaneCountRegroupsWhatIsQueuedKeepingChannelOrder) {
  service_.delay = std::chrono::milliseconds(20);
  service_.lanes = 3;
  Outcomes outcomes;
  {
    SendBatcher batcher(stub_, {.max_batch = 8});
    SubmitAll(batcher, outcomes, 30, 4, "a");
    ASSERT_TRUE(outcomes.WaitFor(120));
    ASSERT_TRUE(WaitForShards(batcher, 3));
    // The message service now has 2 lanes: calls in flight under 3 shards answer with it while
    // more is queued behind them; once those are back the batcher regroups.
    {
      std::lock_guard<std::mutex> lock(service_.mu);
      service_.lanes = 2;
    }
    SubmitAll(batcher, outcomes, 30, 6, "b");
    ASSERT_TRUE(outcomes.WaitFor(300));
    ASSERT_TRUE(WaitForShards(batcher, 2));
    {
      std::lock_guard<std::mutex> lock(service_.mu);
      service_.calls.clear();
    }
    SubmitAll(batcher, outcomes, 30, 4, "c");
    ASSERT_TRUE(outcomes.WaitFor(420));
  }
  {
    std::lock_guard<std::mutex> lock(service_.mu);
    ASSERT_FALSE(service_.calls.empty());
    for (const std::vector<std::string>& call : service_.calls) {
      EXPECT_EQ(LanesOf(call, 2).size(), 1u);
    }
  }
  // Each channel's items arrived in submit order: its 4 "a" items got seqs 1..4, the "b" ones
  // 5..10, the "c" ones 11..14.
  const std::map<char, int> first_seq = {{'a', 1}, {'b', 5}, {'c', 11}};
  for (const auto& [msg, outcome] : outcomes.by_msg) {
    ASSERT_TRUE(outcome.status.ok()) << msg;
    const std::string n = msg.substr(msg.find('/') + 1);
    EXPECT_EQ(outcome.result.message_seq(), first_seq.at(n[0]) + std::stoi(n.substr(1))) << msg;
  }
}

}  // namespace
}  // namespace im::gateway
