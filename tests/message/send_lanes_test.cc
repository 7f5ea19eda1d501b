// The gateway's SendBatcher against the message service's real Send (MessageGrpcService over the
// fixture's 4-lane pipeline, in-process): the batcher learns the lane count from the answers, so
// after the first call every call takes one lane. Guards that gateway and message service agree
// on lanes without a setting on either side.
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>

#include "common/worker_pool.h"
#include "services/gateway/send_batcher.h"
#include "services/message/message_grpc.h"
#include "services/message/public/channel_key.h"
#include "tests/message/message_fixture.h"
#include "tests/support/channel_release.h"

namespace im::message {
namespace {

// Send calls the pipeline saw, and of them those whose items fell on more than one lane.
struct CallLanes {
  uint64_t calls = 0;
  uint64_t spread = 0;
};

CallLanes SendCallLanes(prometheus::Registry& registry) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != "im_message_send_call_lanes") continue;
    const prometheus::ClientMetric::Histogram& histogram = family.metric.at(0).histogram;
    return {histogram.sample_count,
            histogram.sample_count - histogram.bucket.at(0).cumulative_count};
  }
  ADD_FAILURE() << "im_message_send_call_lanes is not registered";
  return {};
}

class MessageSendLanesTest : public MessageFixture {};

TEST_F(MessageSendLanesTest, GatewayCallsTakeOneLaneOfTheMessageService) {
  ASSERT_EQ(pipeline_->lanes(), 4u);
  WorkerPool workers(2, 100);
  MessageGrpcService service(pipeline_.get(), reader_.get(), heads_.get(), &workers, {});
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  std::shared_ptr<grpc::Channel> channel = server->InProcessChannel(grpc::ChannelArguments());
  const CallLanes before = SendCallLanes(*registry_);

  std::mutex mu;
  std::condition_variable cv;
  int ok = 0, settled = 0;
  constexpr int kChats = 32, kPerChat = 8;
  {
    gateway::SendBatcher batcher(v1::MessageService::NewStub(channel), {.max_batch = 16});
    const std::string sender = testing::UniqueName("s");
    for (int n = 0; n < kPerChat; ++n) {
      for (int c = 0; c < kChats; ++c) {
        v1::SendItem item = Item(sender, Person(absl::StrCat(sender, "-peer", c)), "x");
        const ChannelKey key = *ChannelKey::For(sender, item.channel());
        ASSERT_TRUE(batcher.Submit(key, std::move(item), [&](const gateway::SendOutcome& out) {
          std::lock_guard<std::mutex> lock(mu);
          ++settled;
          if (out.status.ok() && out.result.reason() == im::common::v1::REASON_CODE_SUCCESS) ++ok;
          cv.notify_all();
        }));
      }
    }
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(30), [&] { return settled == kChats * kPerChat; }));
    EXPECT_EQ(ok, kChats * kPerChat);
    EXPECT_EQ(batcher.shards(), 4u);
  }
  const CallLanes after = SendCallLanes(*registry_);
  EXPECT_GT(after.calls - before.calls, 4u);
  // The first call, sent before any answer told the lanes, carries the first item alone; every
  // later one follows the lanes.
  EXPECT_EQ(after.spread - before.spread, 0u);

  EXPECT_TRUE(testing::ReleaseChannel(channel));
  server->Shutdown();
}

}  // namespace
}  // namespace im::message
