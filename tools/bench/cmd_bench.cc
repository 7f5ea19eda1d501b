// Cmd (sync_once) fan-out through a running suite: a business server sends a cmd to a group of
// --members, --online of them connected over WebSocket (spread over the group, its last member
// included). Per round it measures the time to the SendResult (the enqueue: the cmd row is
// committed, no per-recipient work yet) and the time until the last online member got the CMD push
// (the expander has then written the inbox entries up to that member and fan-out delivered them).
// A 2-member group is measured the same way, for the ack baseline.
//
//   scripts/run.sh &   # or the binaries started as tests/e2e does; then:
//   build/tools/bench/cmd_bench --members 10000 --online 100 --rounds 10
// (--message, --grpc_gateway and --ws default to scripts/run.sh's addresses.)
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "tools/client/im_client.h"

ABSL_FLAG(std::string, message, "127.0.0.1:7003", "Message service gRPC address.");
ABSL_FLAG(std::string, grpc_gateway, "127.0.0.1:7002", "Gateway gRPC address (UserService).");
ABSL_FLAG(std::string, ws, "127.0.0.1:8080", "Gateway WebSocket host:port.");
ABSL_FLAG(int, members, 10000, "Members of the large group.");
ABSL_FLAG(int, online, 100, "Members connected over WebSocket (at most --members).");
ABSL_FLAG(int, rounds, 10, "Cmds sent to each group.");
ABSL_FLAG(double, deliver_timeout, 30, "Seconds to wait for the last online delivery of a cmd.");

namespace {

namespace common = im::common::v1;
namespace msg = im::message::v1;
using im::client::ImClient;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "cmd_bench: %s\n", why.c_str());
  std::exit(1);
}

template <typename Stub, typename Request, typename Response, typename Method>
void Call(Stub& stub, Method method, const Request& request, Response* response, int seconds,
          const char* what) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  const grpc::Status status = (stub.*method)(&context, request, response);
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.error_message()));
}

// Per cmd (message id), the CMD pushes received by the online members and when the last came.
// Keyed by id because pushes may arrive before the sender has read its SendResult.
struct Deliveries {
  struct Count {
    int got = 0;
    absl::Time last;
  };
  std::mutex mu;
  absl::flat_hash_map<uint64_t, Count> by_id;
};

std::unique_ptr<ImClient> Login(im::gateway::v1::UserService::Stub& users, const std::string& uid,
                                Deliveries* deliveries) {
  im::gateway::v1::SetTokenRequest token;
  token.set_uid(uid);
  token.set_device_flag(common::DEVICE_FLAG_APP);
  token.set_token("bench");
  im::gateway::v1::SetTokenResponse set;
  Call(users, &im::gateway::v1::UserService::Stub::SetToken, token, &set, 10, "SetToken");
  std::vector<std::string> parts = absl::StrSplit(absl::GetFlag(FLAGS_ws), ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) Die("--ws must be host:port");
  auto client = std::make_unique<ImClient>();
  if (absl::Status s = client->Connect(parts[0], port, im::client::Encoding::kBinary); !s.ok()) {
    Die(s.ToString());
  }
  absl::StatusOr<im::client::ConnAck> ack =
      client->Handshake(uid, "bench", "d1", common::DEVICE_FLAG_APP);
  if (!ack.ok() || ack->reason() != common::REASON_CODE_SUCCESS) {
    Die(absl::StrCat("CONNECT ", uid, " failed"));
  }
  client->SetPushHandler([deliveries](const im::client::Frame& frame) {
    if (!frame.has_cmd()) return;
    const absl::Time now = absl::Now();
    std::lock_guard<std::mutex> lock(deliveries->mu);
    Deliveries::Count& count = deliveries->by_id[frame.cmd().message().message_id()];
    ++count.got;
    count.last = now;
  });
  return client;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

// Sends --rounds cmds to `group` and prints ack and last-delivery times (ms).
void Measure(msg::MessageService::Stub& messages, const std::string& group, int members, int online,
             Deliveries* deliveries) {
  std::vector<double> ack_ms, last_ms;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    msg::SendRequest request;
    msg::SendItem* item = request.add_items();
    item->mutable_channel()->set_id(group);
    item->mutable_channel()->set_type(common::CHANNEL_TYPE_GROUP);
    item->set_from_uid("bench-system");
    item->set_client_msg_no(absl::StrCat(group, "-", round));
    item->set_payload("reload settings");
    item->mutable_flags()->set_sync_once(true);
    item->set_skip_subscriber_check(true);
    msg::SendResponse response;
    const absl::Time start = absl::Now();
    Call(messages, &msg::MessageService::Stub::Send, request, &response, 30, "Send");
    const absl::Time acked = absl::Now();
    if (response.results(0).reason() != common::REASON_CODE_SUCCESS) {
      Die(absl::StrCat("Send: ", response.results(0).message()));
    }
    const uint64_t id = response.results(0).message_id();
    ack_ms.push_back(absl::ToDoubleMilliseconds(acked - start));
    const absl::Time deadline = absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_deliver_timeout));
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(deliveries->mu);
        if (const Deliveries::Count& count = deliveries->by_id[id]; count.got >= online) {
          last_ms.push_back(absl::ToDoubleMilliseconds(count.last - start));
          break;
        }
      }
      if (absl::Now() > deadline) Die("not every online member got the cmd in time");
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  std::printf(
      "group of %d (%d online), %zu cmds: ack p50 %.2f ms, max %.2f ms; "
      "last online delivery p50 %.1f ms, max %.1f ms\n",
      members, online, ack_ms.size(), Percentile(ack_ms, 0.5), Percentile(ack_ms, 1.0),
      Percentile(last_ms, 0.5), Percentile(last_ms, 1.0));
}

// Creates a group of `members` uids named after it; the online ones are spread over the sorted
// list and include its last uid (the expander goes through it in order).
void Run(msg::ChannelService::Stub& channels, msg::MessageService::Stub& messages,
         im::gateway::v1::UserService::Stub& users, int members, int online) {
  const std::string group =
      absl::StrCat("cmdbench-", absl::ToUnixMicros(absl::Now()), "-", members);
  msg::CreateGroupRequest create;
  create.set_group_id(group);
  std::vector<std::string> uids;
  for (int i = 0; i < members; ++i) {
    uids.push_back(absl::StrCat(group, "-", 100000 + i));
    create.add_subscriber_uids(uids.back());
  }
  msg::Group created;
  Call(channels, &msg::ChannelService::Stub::CreateGroup, create, &created, 120, "CreateGroup");
  Deliveries deliveries;
  std::vector<std::unique_ptr<ImClient>> clients;
  for (int k = 0; k < online; ++k) {
    const size_t i =
        online == 1 ? members - 1 : static_cast<size_t>(k) * (members - 1) / (online - 1);
    clients.push_back(Login(users, uids[i], &deliveries));
  }
  Measure(messages, group, members, online, &deliveries);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int members = absl::GetFlag(FLAGS_members);
  const int online = absl::GetFlag(FLAGS_online);
  if (members < 2 || online < 1 || online > members || absl::GetFlag(FLAGS_rounds) < 1) {
    Die("--members >= 2, 1 <= --online <= --members, --rounds >= 1");
  }
  auto message_channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_message), grpc::InsecureChannelCredentials());
  auto messages = msg::MessageService::NewStub(message_channel);
  auto channels = msg::ChannelService::NewStub(message_channel);
  auto users = im::gateway::v1::UserService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_grpc_gateway), grpc::InsecureChannelCredentials()));
  Run(*channels, *messages, *users, 2, 2);
  Run(*channels, *messages, *users, members, online);
  return 0;
}
