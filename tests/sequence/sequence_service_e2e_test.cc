// The sequence binary as deployed: gRPC from another process, restarts and kill -9.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <thread>

#include "im/sequence/v1/sequence.grpc.pb.h"
#include "tests/support/test_env.h"

namespace im {
namespace {

namespace seq = im::sequence::v1;

class SequenceServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<testing::ServiceProcess>(testing::BinaryPath("sequence"));
    ASSERT_TRUE(service_->WaitServing());
    Connect();
  }

  void Connect() {
    stub_ = seq::SequenceService::NewStub(testing::FreshChannel(service_->grpc_address()));
  }

  grpc::Status Allocate(const std::string& channel, uint32_t count, seq::SeqRange* range) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    seq::AllocateRequest request;
    request.set_channel(channel);
    request.set_count(count);
    seq::AllocateResponse response;
    grpc::Status status = stub_->Allocate(&context, request, &response);
    *range = response.range();
    return status;
  }

  int64_t Next(const std::string& channel) {
    seq::SeqRange range;
    grpc::Status status = Allocate(channel, 1, &range);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return range.last();
  }

  std::unique_ptr<testing::ServiceProcess> service_;
  std::unique_ptr<seq::SequenceService::Stub> stub_;
};

TEST_F(SequenceServiceTest, AllocatesOverGrpcFromManyClients) {
  const std::string channel = testing::UniqueName("grpc");
  std::vector<std::vector<int64_t>> seen(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) seen[t].push_back(Next(channel));
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<int64_t> all;
  for (const auto& values : seen) {
    for (size_t i = 1; i < values.size(); ++i) ASSERT_LT(values[i - 1], values[i]);
    all.insert(values.begin(), values.end());
  }
  EXPECT_EQ(all.size(), 1000u);
}

TEST_F(SequenceServiceTest, AllocateBatchRangesAreConsecutiveInRequestOrder) {
  const std::string channel = testing::UniqueName("batch");
  seq::AllocateBatchRequest batch;
  for (int i = 0; i < 3; ++i) {
    seq::AllocateRequest* item = batch.add_items();
    item->set_channel(channel);
    item->set_count(2);
  }
  seq::AllocateBatchResponse ranges;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->AllocateBatch(&context, batch, &ranges).ok());
  }
  ASSERT_EQ(ranges.ranges_size(), 3);
  EXPECT_EQ(ranges.ranges(2).first(), 5);
  EXPECT_EQ(ranges.ranges(2).last(), 6);
}

TEST_F(SequenceServiceTest, BadInputGetsInvalidArgumentWithAMessage) {
  seq::SeqRange range;
  grpc::Status empty = Allocate("", 1, &range);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(empty.error_message().find("channel"), std::string::npos);
  EXPECT_EQ(Allocate("c", 0, &range).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Allocate("c", 1000000, &range).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A kind number the proto keeps reserved is refused, not served from some other counter.
  seq::AllocateRequest request;
  request.set_channel(testing::UniqueName("kind"));
  request.set_count(1);
  request.set_kind(static_cast<seq::CounterKind>(2));
  seq::AllocateResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->Allocate(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("counter kind"), std::string::npos);
}

// DESIGN.md invariant 2 with the real binary.
TEST_F(SequenceServiceTest, SeqNeverGoesBackAcrossGracefulAndHardRestarts) {
  const std::string channel = testing::UniqueName("restarts");
  int64_t highest = 0;
  for (int i = 0; i < 5; ++i) highest = Next(channel);

  EXPECT_EQ(service_->Stop(), 0);
  service_->Restart();
  ASSERT_TRUE(service_->WaitServing());
  Connect();
  int64_t value = Next(channel);
  EXPECT_GT(value, highest);
  highest = value;

  service_->Kill();
  service_->Restart();
  ASSERT_TRUE(service_->WaitServing());
  Connect();
  EXPECT_GT(Next(channel), highest);
}

TEST_F(SequenceServiceTest, ServesRpcMetrics) {
  Next(testing::UniqueName("metrics"));
  const std::string metrics = testing::HttpGet(service_->metrics_port(), "/metrics");
  EXPECT_NE(metrics.find("grpc_server_handled_total{grpc_code=\"0\",grpc_method=\"/im.sequence.v1."
                         "SequenceService/Allocate\"}"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("grpc_server_handling_seconds_bucket"), std::string::npos);
}

// Reflection is what lets grpcurl and other tools call the service without its .proto files. The
// request is encoded by hand (list_services, field 7, empty) as no reflection client ships here.
TEST_F(SequenceServiceTest, ServesReflection) {
  grpc::GenericStub stub(testing::FreshChannel(service_->grpc_address()));
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const auto wait = [&cq] {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && ok;
  };
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(nullptr);
  ASSERT_TRUE(wait());
  const std::string list_services("\x3a\x00", 2);
  grpc::Slice slice(list_services);
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, nullptr);
  ASSERT_TRUE(wait());
  call->WritesDone(nullptr);
  ASSERT_TRUE(wait());
  grpc::ByteBuffer response;
  call->Read(&response, nullptr);
  ASSERT_TRUE(wait());
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string body;
  for (const grpc::Slice& s : slices)
    body.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_NE(body.find("im.sequence.v1.SequenceService"), std::string::npos);
  EXPECT_NE(body.find("grpc.health.v1.Health"), std::string::npos);
  grpc::Status status;
  call->Finish(&status, nullptr);
  ASSERT_TRUE(wait());
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace im
