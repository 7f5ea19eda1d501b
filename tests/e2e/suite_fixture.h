// The suite as deployed, for e2e tests: sequence, message, conversation, extension and one or more
// gateway binaries as child processes on the test Postgres and Redis, the business-server gRPC
// calls a test needs, and WebSocket clients (tools/client) logged in to a chosen gateway.
//
//   Suite suite({.gateways = 2});
//   ASSERT_TRUE(suite.WaitServing());
//   auto alice = suite.Login("alice-1", "phone");
//   auto bob = suite.Login("bob-1", "phone", /*gateway=*/1);
//   std::optional<Message> got = NextRecv(*bob);
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "im/conversation/v1/conversation.grpc.pb.h"
#include "im/extension/v1/extension.grpc.pb.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "tests/support/test_env.h"
#include "tools/client/im_client.h"

namespace im::testing {

struct SuiteOptions {
  int gateways = 1;
  // Extra environment of every gateway (e.g. small limits).
  std::map<std::string, std::string> gateway_env;
  // Extra environment of the extension service (e.g. what clients may set).
  std::map<std::string, std::string> extension_env;
};

class Suite {
 public:
  // Starts every process at once; they find each other by the addresses chosen here.
  explicit Suite(SuiteOptions options = {});

  // Health SERVING on every process and the gateways' WebSocket ports open.
  bool WaitServing(double seconds = 30);

  ServiceProcess& sequence() { return *sequence_; }
  ServiceProcess& message() { return *message_; }
  ServiceProcess& conversation() { return *conversation_; }
  ServiceProcess& extension() { return *extension_; }
  ServiceProcess& gateway(int index) { return *gateways_[index].process; }
  int ws_port(int gateway) const { return gateways_[gateway].ws_port; }

  // UserService.SetToken on gateway 0; fails the test on error.
  void SetToken(const std::string& uid, const std::string& token,
                im::common::v1::DeviceFlag flag = im::common::v1::DEVICE_FLAG_APP);
  // ChannelService.CreateGroup; fails the test on error.
  void CreateGroup(const std::string& group_id, const std::vector<std::string>& uids);
  // MessageService.Send of one item as a business server (skip_subscriber_check set).
  im::message::v1::SendResult ApiSend(const std::string& from_uid,
                                      const im::common::v1::Channel& channel,
                                      const std::string& client_msg_no, const std::string& payload,
                                      const im::common::v1::MessageFlags& flags = {});
  // ConversationService, on a fresh channel.
  std::unique_ptr<im::conversation::v1::ConversationService::Stub> Conversations();
  // ExtensionService, on a fresh channel.
  std::unique_ptr<im::extension::v1::ExtensionService::Stub> Extensions();
  // MessageService, on a fresh channel.
  std::unique_ptr<im::message::v1::MessageService::Stub> Messages();
  // UserService of `gateway`, on a fresh channel.
  std::unique_ptr<im::gateway::v1::UserService::Stub> Users(int gateway = 0);
  // GatewayService (the suite's internal calls) of `gateway`, on a fresh channel.
  std::unique_ptr<im::gateway::v1::GatewayService::Stub> Gateways(int gateway = 0);
  // Every stored message of `channel` as `uid` sees it, over gRPC (paging through the whole range);
  // empty and a test failure when the call fails.
  std::vector<im::common::v1::Message> History(const std::string& uid,
                                               const im::common::v1::Channel& channel);
  // Same, returning the gRPC status instead of failing.
  grpc::Status TryHistory(const std::string& uid, const im::common::v1::Channel& channel,
                          std::vector<im::common::v1::Message>* messages);

  // A WebSocket connection to `gateway`, not yet authenticated; retries while the port opens.
  std::unique_ptr<client::ImClient> Open(int gateway = 0,
                                         client::Encoding encoding = client::Encoding::kBinary);
  // Whether UserService.GetOnlineStatus lists the device right now.
  bool IsOnline(const std::string& uid, const std::string& device_id);
  // Open, SetToken and CONNECT as uid/device. Fails the test unless CONNACK is SUCCESS and presence
  // lists the device as soon as CONNACK arrives (the gateway acks only after registering it, so a
  // message sent right after CONNACK is delivered live).
  std::unique_ptr<client::ImClient> Login(
      const std::string& uid, const std::string& device_id, int gateway = 0,
      client::Encoding encoding = client::Encoding::kBinary,
      im::common::v1::DeviceFlag flag = im::common::v1::DEVICE_FLAG_APP);

 private:
  struct Gateway {
    int ws_port;
    std::unique_ptr<ServiceProcess> process;
  };

  std::unique_ptr<ServiceProcess> sequence_;
  std::unique_ptr<ServiceProcess> message_;
  std::unique_ptr<ServiceProcess> conversation_;
  std::unique_ptr<ServiceProcess> extension_;
  std::vector<Gateway> gateways_;
};

// A test fixture whose tests share one Suite, started once per test suite as `Config::Options()`
// says (a struct with `static SuiteOptions Options()`), so each test costs no process start-up.
template <typename Config>
class SuiteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_ = new Suite(Config::Options());
    ASSERT_TRUE(suite_->WaitServing());
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(suite_, nullptr); }

  static inline Suite* suite_ = nullptr;
};

// The next RECV's message, skipping other pushes; nullopt after `timeout`.
std::optional<im::common::v1::Message> NextRecv(client::ImClient& client,
                                                absl::Duration timeout = absl::Seconds(10));
// The next push of any kind; nullopt after `timeout`.
std::optional<client::Frame> NextFrame(client::ImClient& client,
                                       absl::Duration timeout = absl::Seconds(10));
// The RECVs that arrive within `window`.
std::vector<im::common::v1::Message> RecvsWithin(client::ImClient& client, absl::Duration window);

}  // namespace im::testing
