#include "tools/bench/load/stack_admin.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"

namespace im::load {
namespace {

constexpr size_t kMembersPerCall = 1000;

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

}  // namespace

absl::Status SetTokens(const std::string& gateway_addr, const std::vector<std::string>& uids,
                       const std::string& token, int threads) {
  auto channel = grpc::CreateChannel(gateway_addr, grpc::InsecureChannelCredentials());
  auto users = im::gateway::v1::UserService::NewStub(channel);
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status first_error;
  std::vector<std::thread> workers;
  for (int t = 0; t < std::max(1, threads); ++t) {
    workers.emplace_back([&] {
      for (size_t i = next.fetch_add(1); i < uids.size(); i = next.fetch_add(1)) {
        im::gateway::v1::SetTokenRequest request;
        request.set_uid(uids[i]);
        request.set_device_flag(im::common::v1::DEVICE_FLAG_APP);
        request.set_token(token);
        im::gateway::v1::SetTokenResponse response;
        grpc::ClientContext context;
        SetDeadline(context);
        grpc::Status status = users->SetToken(&context, request, &response);
        if (!status.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.ok()) {
            first_error = absl::UnavailableError(absl::StrCat(
                "SetToken ", uids[i], " at ", gateway_addr, ": ", status.error_message()));
          }
          next.store(uids.size());
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  return first_error;
}

absl::Status CreateGroup(const std::string& message_addr, const std::string& group_id,
                         const std::vector<std::string>& members) {
  auto channels = im::message::v1::ChannelService::NewStub(
      grpc::CreateChannel(message_addr, grpc::InsecureChannelCredentials()));
  im::message::v1::CreateGroupRequest create;
  create.set_group_id(group_id);
  create.set_name(group_id);
  const size_t first = std::min(members.size(), kMembersPerCall);
  for (size_t i = 0; i < first; ++i) create.add_subscriber_uids(members[i]);
  im::message::v1::Group group;
  grpc::ClientContext context;
  SetDeadline(context);
  if (grpc::Status s = channels->CreateGroup(&context, create, &group); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("CreateGroup ", group_id, " at ", message_addr, ": ", s.error_message()));
  }
  for (size_t start = first; start < members.size(); start += kMembersPerCall) {
    im::message::v1::AddSubscribersRequest add;
    add.mutable_channel()->set_id(group_id);
    add.mutable_channel()->set_type(im::common::v1::CHANNEL_TYPE_GROUP);
    for (size_t i = start; i < std::min(members.size(), start + kMembersPerCall); ++i) {
      add.add_uids(members[i]);
    }
    im::message::v1::AddSubscribersResponse added;
    grpc::ClientContext add_context;
    SetDeadline(add_context);
    if (grpc::Status s = channels->AddSubscribers(&add_context, add, &added); !s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("AddSubscribers ", group_id, ": ", s.error_message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace im::load
