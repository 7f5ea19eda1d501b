// Cmd (sync_once) fan-out through a running suite: a business server sends a cmd to a group of
// --members, --online of them connected over WebSocket (spread over the group, its last member
// included). Per round it measures the time to the SendResult (the enqueue: the cmd row is
// committed, no per-recipient work yet) and the time until the last online member got the CMD push
// (the expander has then written the inbox entries up to that member and fan-out delivered them).
// A 2-member group is measured the same way, for the ack baseline.
//
//   scripts/run.sh &   # then:
//   build/tools/bench/cmd_bench --members 10000 --online 100 --rounds 10
// (the addresses come from run.sh's stack file, see bench_support.h; --message, --grpc_gateway
// and --ws name others.)
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "tools/bench/bench_support.h"
#include "tools/client/im_client.h"

ABSL_FLAG(std::string, message, "", "Message service gRPC address; default: the stack's.");
ABSL_FLAG(std::string, grpc_gateway, "",
          "Gateway gRPC address (UserService); default: the stack's.");
ABSL_FLAG(std::string, ws, "", "Gateway WebSocket host:port; default: the stack's.");
ABSL_FLAG(int, members, 10000, "Members of the large group.");
ABSL_FLAG(int, online, 100, "Members connected over WebSocket (at most --members).");
ABSL_FLAG(int, rounds, 10, "Cmds sent to each group.");
ABSL_FLAG(double, deliver_timeout, 30, "Seconds to wait for the last online delivery of a cmd.");

namespace {

namespace common = im::common::v1;
namespace msg = im::message::v1;
using im::bench::Clock;
using im::bench::Die;
using im::client::ImClient;

// Per cmd (message id), the CMD pushes received by the online members and when the last came.
// Keyed by id because pushes may arrive before the sender has read its SendResult.
struct Deliveries {
  struct Count {
    int got = 0;
    Clock::time_point last;
  };
  std::mutex mu;
  absl::flat_hash_map<uint64_t, Count> by_id;
};

// Counts a CMD push for its cmd.
void Record(Deliveries* deliveries, const im::client::Frame& frame) {
  if (!frame.has_cmd()) return;
  const Clock::time_point now = Clock::now();
  std::lock_guard<std::mutex> lock(deliveries->mu);
  Deliveries::Count& count = deliveries->by_id[frame.cmd().message().message_id()];
  ++count.got;
  count.last = now;
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
    grpc::ClientContext context;
    im::bench::SetDeadline(context, absl::Seconds(30));
    const Clock::time_point start = Clock::now();
    im::bench::Check(messages.Send(&context, request, &response), "Send");
    const Clock::time_point acked = Clock::now();
    if (response.results(0).reason() != common::REASON_CODE_SUCCESS) {
      Die(absl::StrCat("Send: ", response.results(0).message()));
    }
    const uint64_t id = response.results(0).message_id();
    ack_ms.push_back(im::bench::Ms(acked - start));
    const Clock::time_point deadline =
        Clock::now() +
        absl::ToChronoNanoseconds(absl::Seconds(absl::GetFlag(FLAGS_deliver_timeout)));
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(deliveries->mu);
        if (const Deliveries::Count& count = deliveries->by_id[id]; count.got >= online) {
          last_ms.push_back(im::bench::Ms(count.last - start));
          break;
        }
      }
      if (Clock::now() > deadline) Die("not every online member got the cmd in time");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::printf("group of %d (%d online), %zu cmds: ack %s; last online delivery %s\n", members,
              online, ack_ms.size(), im::bench::Percentiles(ack_ms).c_str(),
              im::bench::Percentiles(last_ms).c_str());
}

// Creates a group of `members` uids named after it; the online ones are spread over the sorted
// list and include its last uid (the expander goes through it in order).
void Run(msg::ChannelService::Stub& channels, msg::MessageService::Stub& messages,
         im::gateway::v1::UserService::Stub& users, const std::string& ws, int members,
         int online) {
  const std::string group =
      absl::StrCat("cmdbench-", absl::ToUnixMicros(absl::Now()), "-", members);
  std::vector<std::string> uids;
  for (int i = 0; i < members; ++i) uids.push_back(absl::StrCat(group, "-", 100000 + i));
  im::bench::CreateGroup(channels, group, uids);
  Deliveries deliveries;
  std::vector<std::unique_ptr<ImClient>> clients;
  for (int k = 0; k < online; ++k) {
    const size_t i =
        online == 1 ? members - 1 : static_cast<size_t>(k) * (members - 1) / (online - 1);
    clients.push_back(im::bench::ConnectUser(
        users, ws, uids[i],
        [&deliveries](const im::client::Frame& frame) { Record(&deliveries, frame); }));
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
  auto message_channel = grpc::CreateChannel(im::bench::GrpcAddress(FLAGS_message, "message"),
                                             grpc::InsecureChannelCredentials());
  auto messages = msg::MessageService::NewStub(message_channel);
  auto channels = msg::ChannelService::NewStub(message_channel);
  auto users = im::gateway::v1::UserService::NewStub(grpc::CreateChannel(
      im::bench::GrpcAddress(FLAGS_grpc_gateway, "gateway"), grpc::InsecureChannelCredentials()));
  const std::string ws = im::bench::WsAddress(FLAGS_ws);
  Run(*channels, *messages, *users, ws, 2, 2);
  Run(*channels, *messages, *users, ws, members, online);
  return 0;
}
