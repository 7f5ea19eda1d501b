#include "tests/e2e/suite_fixture.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace im::testing {
namespace {

namespace common = im::common::v1;
namespace msg = im::message::v1;

constexpr auto kRpcTimeout = std::chrono::seconds(10);

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + kRpcTimeout);
}

}  // namespace

Suite::Suite(SuiteOptions options) {
  sequence_ =
      std::make_unique<ServiceProcess>(BinaryPath("sequence"), std::map<std::string, std::string>{
                                                                   {"IM_AUTO_MIGRATE", "true"},
                                                               });
  // The message and conversation services call each other, so one address is chosen first.
  const int conversation_port = FreePort();
  message_ = std::make_unique<ServiceProcess>(
      BinaryPath("message"),
      std::map<std::string, std::string>{
          {"IM_AUTO_MIGRATE", "true"},
          {"IM_SEQUENCE_ADDR", sequence_->grpc_address()},
          {"IM_CONVERSATION_ADDR", absl::StrCat("127.0.0.1:", conversation_port)},
      });
  conversation_ = std::make_unique<ServiceProcess>(
      BinaryPath("conversation"),
      std::map<std::string, std::string>{
          {"IM_AUTO_MIGRATE", "true"},
          {"IM_MESSAGE_ADDR", message_->grpc_address()},
          // Short, so incremental-sync tests need not wait long after a message.
          {"IM_ACTIVITY_MARGIN", "1s"},
      },
      conversation_port);
  std::map<std::string, std::string> extension_env = options.extension_env;
  extension_env["IM_AUTO_MIGRATE"] = "true";
  extension_env["IM_MESSAGE_ADDR"] = message_->grpc_address();
  extension_env["IM_SEQUENCE_ADDR"] = sequence_->grpc_address();
  extension_ = std::make_unique<ServiceProcess>(BinaryPath("extension"), extension_env);
  for (int i = 0; i < options.gateways; ++i) {
    Gateway gateway;
    gateway.ws_port = FreePort();
    std::map<std::string, std::string> env = options.gateway_env;
    env["IM_AUTO_MIGRATE"] = "true";
    env["IM_WS_PORT"] = absl::StrCat(gateway.ws_port);
    env["IM_MESSAGE_ADDR"] = message_->grpc_address();
    env["IM_CONVERSATION_ADDR"] = conversation_->grpc_address();
    env["IM_EXTENSION_ADDR"] = extension_->grpc_address();
    gateway.process = std::make_unique<ServiceProcess>(BinaryPath("gateway"), env);
    gateways_.push_back(std::move(gateway));
  }
}

bool Suite::WaitServing(double seconds) {
  bool ok = sequence_->WaitServing(seconds);
  EXPECT_TRUE(ok) << "sequence at " << sequence_->grpc_address() << " is not serving";
  const bool message_ok = message_->WaitServing(seconds);
  EXPECT_TRUE(message_ok) << "message at " << message_->grpc_address() << " is not serving";
  ok = ok && message_ok;
  const bool conversation_ok = conversation_->WaitServing(seconds);
  EXPECT_TRUE(conversation_ok) << "conversation at " << conversation_->grpc_address()
                               << " is not serving";
  ok = ok && conversation_ok;
  const bool extension_ok = extension_->WaitServing(seconds);
  EXPECT_TRUE(extension_ok) << "extension at " << extension_->grpc_address() << " is not serving";
  ok = ok && extension_ok;
  for (Gateway& gateway : gateways_) {
    const bool gateway_ok = gateway.process->WaitServing(seconds);
    EXPECT_TRUE(gateway_ok) << "gateway at " << gateway.process->grpc_address()
                            << " is not serving";
    ok = ok && gateway_ok;
  }
  return ok;
}

std::unique_ptr<im::conversation::v1::ConversationService::Stub> Suite::Conversations() {
  return im::conversation::v1::ConversationService::NewStub(
      FreshChannel(conversation_->grpc_address()));
}

std::unique_ptr<im::extension::v1::ExtensionService::Stub> Suite::Extensions() {
  return im::extension::v1::ExtensionService::NewStub(FreshChannel(extension_->grpc_address()));
}

std::unique_ptr<msg::MessageService::Stub> Suite::Messages() {
  return msg::MessageService::NewStub(FreshChannel(message_->grpc_address()));
}

std::unique_ptr<im::gateway::v1::UserService::Stub> Suite::Users(int gateway) {
  return im::gateway::v1::UserService::NewStub(FreshChannel(this->gateway(gateway).grpc_address()));
}

std::unique_ptr<im::gateway::v1::GatewayService::Stub> Suite::Gateways(int gateway) {
  return im::gateway::v1::GatewayService::NewStub(
      FreshChannel(this->gateway(gateway).grpc_address()));
}

void Suite::SetToken(const std::string& uid, const std::string& token, common::DeviceFlag flag) {
  auto stub = Users(0);
  im::gateway::v1::SetTokenRequest request;
  request.set_uid(uid);
  request.set_device_flag(flag);
  request.set_token(token);
  im::gateway::v1::SetTokenResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub->SetToken(&context, request, &response);
  ASSERT_TRUE(status.ok()) << "SetToken " << uid << ": " << status.error_message();
}

void Suite::CreateGroup(const std::string& group_id, const std::vector<std::string>& uids) {
  auto stub = msg::ChannelService::NewStub(FreshChannel(message_->grpc_address()));
  msg::CreateGroupRequest request;
  request.set_group_id(group_id);
  for (const std::string& uid : uids) request.add_subscriber_uids(uid);
  msg::Group group;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub->CreateGroup(&context, request, &group);
  ASSERT_TRUE(status.ok()) << "CreateGroup " << group_id << ": " << status.error_message();
}

msg::SendResult Suite::ApiSend(const std::string& from_uid, const common::Channel& channel,
                               const std::string& client_msg_no, const std::string& payload,
                               const common::MessageFlags& flags) {
  auto stub = Messages();
  msg::SendRequest request;
  msg::SendItem* item = request.add_items();
  *item->mutable_channel() = channel;
  item->set_from_uid(from_uid);
  item->set_client_msg_no(client_msg_no);
  item->set_payload(payload);
  *item->mutable_flags() = flags;
  item->set_skip_subscriber_check(true);
  msg::SendResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status status = stub->Send(&context, request, &response);
  EXPECT_TRUE(status.ok()) << "Send: " << status.error_message();
  EXPECT_EQ(response.results_size(), 1);
  return response.results_size() == 1 ? response.results(0) : msg::SendResult();
}

grpc::Status Suite::TryHistory(const std::string& uid, const common::Channel& channel,
                               std::vector<common::Message>* messages) {
  auto stub = Messages();
  messages->clear();
  int64_t start = 0;
  while (true) {
    msg::SyncChannelMessagesRequest request;
    request.set_uid(uid);
    *request.mutable_channel() = channel;
    request.set_start_seq(start);
    request.set_direction(msg::SYNC_DIRECTION_NEWER);
    msg::SyncChannelMessagesResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = stub->SyncChannelMessages(&context, request, &response);
    if (!status.ok()) return status;
    messages->insert(messages->end(), response.messages().begin(), response.messages().end());
    if (!response.has_more()) return grpc::Status::OK;
    if (response.covered().end_seq() < start) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "has_more without progress");
    }
    start = response.covered().end_seq() + 1;
  }
}

std::vector<common::Message> Suite::History(const std::string& uid,
                                            const common::Channel& channel) {
  std::vector<common::Message> messages;
  grpc::Status status = TryHistory(uid, channel, &messages);
  EXPECT_TRUE(status.ok()) << "SyncChannelMessages: " << status.error_message();
  return messages;
}

std::unique_ptr<client::ImClient> Suite::Open(int gateway, client::Encoding encoding) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    auto client = std::make_unique<client::ImClient>();
    absl::Status status = client->Connect("127.0.0.1", ws_port(gateway), encoding);
    if (status.ok()) return client;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "WebSocket port " << ws_port(gateway) << ": " << status;
      return client;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::unique_ptr<client::ImClient> Suite::Login(const std::string& uid, const std::string& device_id,
                                               int gateway, client::Encoding encoding,
                                               common::DeviceFlag flag) {
  const std::string token = absl::StrCat("token-of-", uid);
  SetToken(uid, token, flag);
  std::unique_ptr<client::ImClient> client = Open(gateway, encoding);
  absl::StatusOr<client::ConnAck> ack = client->Handshake(uid, token, device_id, flag);
  EXPECT_TRUE(ack.ok()) << uid << ": " << ack.status();
  if (ack.ok()) {
    EXPECT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << uid << ": " << ack->message();
    EXPECT_TRUE(IsOnline(uid, device_id)) << uid << "/" << device_id << " not online at CONNACK";
  }
  return client;
}

bool Suite::IsOnline(const std::string& uid, const std::string& device_id) {
  auto users = Users(0);
  im::gateway::v1::GetOnlineStatusRequest request;
  request.add_uids(uid);
  im::gateway::v1::GetOnlineStatusResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  const grpc::Status status = users->GetOnlineStatus(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  for (const auto& user : response.statuses()) {
    for (const auto& device : user.devices()) {
      if (device.device_id() == device_id) return true;
    }
  }
  return false;
}

std::optional<common::Message> NextRecv(client::ImClient& client, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    std::optional<client::Frame> frame = client.NextPush(deadline - absl::Now());
    if (!frame.has_value()) return std::nullopt;
    if (frame->has_recv()) return frame->recv().message();
  }
}

std::optional<client::Frame> NextFrame(client::ImClient& client, absl::Duration timeout) {
  return client.NextPush(timeout);
}

std::vector<common::Message> RecvsWithin(client::ImClient& client, absl::Duration window) {
  std::vector<common::Message> messages;
  const absl::Time end = absl::Now() + window;
  while (true) {
    const absl::Duration left = end - absl::Now();
    if (left <= absl::ZeroDuration()) return messages;
    std::optional<common::Message> message = NextRecv(client, left);
    if (!message.has_value()) return messages;
    messages.push_back(std::move(*message));
  }
}

}  // namespace im::testing
