// A burst of pushes queued on one WebSocket session (the gateway writes its queue corked, several
// frames per socket send): every frame arrives, as its own message, in order, in both encodings.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "tests/e2e/suite_fixture.h"

namespace im {
namespace {

namespace common = im::common::v1;
namespace gw = im::gateway::v1;
using client::Encoding;
using testing::UniqueName;

struct OneGateway {
  static testing::SuiteOptions Options() { return {}; }
};
class GatewayBurstTest : public testing::SuiteTest<OneGateway> {};

// One Deliver of `count` SEQ_UPDATEs (max_seq first..first+count-1) to `uid`.
void DeliverSeqUpdates(gw::GatewayService::Stub& gateway, const std::string& uid, int64_t first,
                       int count) {
  gw::DeliverRequest request;
  for (int i = 0; i < count; ++i) {
    gw::DeliverItem* item = request.add_items();
    item->add_recipients()->set_uid(uid);
    im::conversation::v1::SeqUpdate* update = item->mutable_seq_update();
    update->mutable_channel()->set_type(common::CHANNEL_TYPE_GROUP);
    update->mutable_channel()->set_id("burst");
    update->set_max_seq(first + i);
  }
  grpc::ClientContext context;
  gw::DeliverResponse response;
  const grpc::Status status = gateway.Deliver(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), count);
  EXPECT_EQ(response.results(count - 1).online_uids_size(), 1);
}

TEST_F(GatewayBurstTest, BurstArrivesCompleteAndInOrder) {
  const std::string uid = UniqueName("burst");
  auto binary = suite_->Login(uid, "phone", 0, Encoding::kBinary);
  auto json = suite_->Login(uid, "browser", 0, Encoding::kJson, common::DEVICE_FLAG_WEB);
  auto gateway =
      gw::GatewayService::NewStub(testing::FreshChannel(suite_->gateway(0).grpc_address()));

  // One push of 2000 frames, then 20 pushes of 50 that queue behind it while it is written.
  constexpr int kFirst = 2000;
  constexpr int kPushes = 20;
  constexpr int kPerPush = 50;
  DeliverSeqUpdates(*gateway, uid, 1, kFirst);
  for (int i = 0; i < kPushes; ++i)
    DeliverSeqUpdates(*gateway, uid, kFirst + 1 + i * kPerPush, kPerPush);

  constexpr int kTotal = kFirst + kPushes * kPerPush;
  for (client::ImClient* conn : {binary.get(), json.get()}) {
    for (int64_t want = 1; want <= kTotal; ++want) {
      std::optional<client::Frame> frame = testing::NextFrame(*conn, absl::Seconds(10));
      ASSERT_TRUE(frame.has_value())
          << "frame " << want << " missing; closed: " << conn->close_reason();
      ASSERT_TRUE(frame->has_seq_update()) << frame->ShortDebugString();
      ASSERT_EQ(frame->seq_update().max_seq(), want);
    }
  }
}

}  // namespace
}  // namespace im
