// Extension costs of a running suite, over gRPC as a business server calls it:
//   1. Set throughput: --callers threads call ExtensionService.Set back to back for --seconds,
//      spread over --channels groups of --messages_per_channel messages each (no one online), and
//      again all on one message (the hot-row case: every Set of it serializes).
//   2. Set -> notification: --members WebSocket clients of one group are online; --pushes Sets of
//      one message, one after the other; for each, the time from calling Set until the first and
//      until the last member's EXTENSION_CHANGED with that version arrived.
//
//   scripts/run.sh &   # then:
//   build/tools/bench/ext_bench --members 100 --pushes 200
// (the addresses come from run.sh's stack file, see bench_support.h; --extension, --message,
// --gateway and --ws name others.)
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "im/extension/v1/extension.grpc.pb.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "tools/bench/bench_support.h"
#include "tools/client/im_client.h"

ABSL_FLAG(std::string, extension, "", "Extension service gRPC address; default: the stack's.");
ABSL_FLAG(std::string, message, "", "Message service gRPC address; default: the stack's.");
ABSL_FLAG(std::string, gateway, "", "Gateway gRPC address (UserService); default: the stack's.");
ABSL_FLAG(std::string, ws, "", "Gateway WebSocket host:port; default: the stack's.");
ABSL_FLAG(int, callers, 64, "Concurrent Set callers for the throughput runs.");
ABSL_FLAG(int, seconds, 10, "Length of each throughput run.");
ABSL_FLAG(int, channels, 32, "Groups the spread throughput run writes to.");
ABSL_FLAG(int, messages_per_channel, 8, "Messages per group in the spread run.");
ABSL_FLAG(int, members, 100, "Online members for the Set -> notification run.");
ABSL_FLAG(int, pushes, 200, "Sets measured in the Set -> notification run.");

namespace {

namespace common = im::common::v1;
namespace ext = im::extension::v1;
namespace msg = im::message::v1;
using im::bench::Clock;
using im::bench::Die;
using im::bench::Ms;
using im::bench::Percentiles;
using im::client::GroupChannel;

// `count` cards in the group; their message ids.
std::vector<uint64_t> SendCards(msg::MessageService::Stub& messages, const std::string& group,
                                int count) {
  msg::SendRequest request;
  for (int i = 0; i < count; ++i) {
    msg::SendItem* item = request.add_items();
    *item->mutable_channel() = GroupChannel(group);
    item->set_from_uid("bench-bot");
    item->set_client_msg_no(absl::StrCat(group, "-", i));
    item->set_payload("card");
    item->set_skip_subscriber_check(true);
  }
  grpc::ClientContext context;
  im::bench::SetDeadline(context, absl::Seconds(30));
  msg::SendResponse response;
  im::bench::Check(messages.Send(&context, request, &response), "Send");
  std::vector<uint64_t> ids;
  for (const msg::SendResult& result : response.results()) {
    if (result.reason() != common::REASON_CODE_SUCCESS) Die("Send: " + result.message());
    ids.push_back(result.message_id());
  }
  return ids;
}

grpc::Status Set(ext::ExtensionService::Stub& stub, const std::string& group, uint64_t message_id,
                 const std::string& operator_uid, int n, ext::SetResponse* response) {
  ext::SetRequest request;
  *request.mutable_channel() = GroupChannel(group);
  request.set_message_id(message_id);
  request.set_operator_uid(operator_uid);
  request.set_status(n);
  request.set_mode(ext::SET_MODE_MERGE_PATCH);
  request.set_ext(absl::StrCat(R"({"n":)", n, R"(,"by":")", operator_uid, R"("})"));
  grpc::ClientContext context;
  im::bench::SetDeadline(context, absl::Seconds(10));
  return stub.Set(&context, request, response);
}

// --callers threads Set for --seconds on `targets` (group, message) pairs, round robin.
void Throughput(const char* name, const std::shared_ptr<grpc::Channel>& channel,
                const std::vector<std::pair<std::string, uint64_t>>& targets) {
  const int callers = absl::GetFlag(FLAGS_callers);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> applied{0}, older{0}, failed{0};
  std::vector<std::vector<double>> latencies(callers);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      auto stub = ext::ExtensionService::NewStub(channel);
      for (int i = 0; !stop.load(); ++i) {
        const auto& [group, id] = targets[(c + i * callers) % targets.size()];
        ext::SetResponse response;
        const auto t0 = Clock::now();
        const grpc::Status status = Set(*stub, group, id, absl::StrCat("op", c), i, &response);
        latencies[c].push_back(Ms(Clock::now() - t0));
        if (!status.ok()) {
          failed.fetch_add(1);
        } else if (response.applied()) {
          applied.fetch_add(1);
        } else {
          older.fetch_add(1);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(absl::GetFlag(FLAGS_seconds)));
  stop = true;
  for (std::thread& t : threads) t.join();
  const double seconds = Ms(Clock::now() - start) / 1000;
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const int64_t total = applied + older + failed;
  std::printf("%s: %d callers, %zu messages: %.0f Sets/s (%lld applied, %lld older, %lld failed)\n",
              name, callers, targets.size(), total / seconds, static_cast<long long>(applied),
              static_cast<long long>(older), static_cast<long long>(failed));
  std::printf("  Set latency %s\n", Percentiles(all).c_str());
}

// Arrivals of the benchmark message's versions across the members' connections, by version: a
// push may arrive before the Set's own answer names its version.
struct Arrivals {
  int count = 0;
  Clock::time_point first, last;
};
struct Awaited {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t message_id = 0;
  std::map<int64_t, Arrivals> by_version;
};

void SetToNotification(const std::shared_ptr<grpc::Channel>& extension_channel,
                       msg::ChannelService::Stub& channels, msg::MessageService::Stub& messages,
                       im::gateway::v1::UserService::Stub& users, const std::string& ws) {
  const int members = absl::GetFlag(FLAGS_members);
  const std::string group = absl::StrCat("extbench-push-", absl::ToUnixMillis(absl::Now()));
  std::vector<std::string> uids;
  for (int i = 0; i < members; ++i) uids.push_back(absl::StrCat(group, "-m", i));
  im::bench::CreateGroup(channels, group, uids);

  Awaited awaited;
  std::vector<std::unique_ptr<im::client::ImClient>> clients;
  for (const std::string& uid : uids) {
    clients.push_back(
        im::bench::ConnectUser(users, ws, uid, [&awaited](const im::client::Frame& frame) {
          if (!frame.has_extension_changed()) return;
          const auto now = Clock::now();
          std::lock_guard<std::mutex> lock(awaited.mu);
          for (const ext::ExtensionValue& value : frame.extension_changed().values()) {
            if (value.message_id() != awaited.message_id) continue;
            Arrivals& arrivals = awaited.by_version[value.version()];
            if (arrivals.count++ == 0) arrivals.first = now;
            arrivals.last = now;
          }
          awaited.cv.notify_all();
        }));
  }
  const uint64_t card = SendCards(messages, group, 1)[0];
  {
    std::lock_guard<std::mutex> lock(awaited.mu);
    awaited.message_id = card;
  }
  auto stub = ext::ExtensionService::NewStub(extension_channel);
  std::vector<double> to_first, to_last, set_ms;
  int missed = 0;
  for (int i = 0; i < absl::GetFlag(FLAGS_pushes); ++i) {
    const auto t0 = Clock::now();
    ext::SetResponse response;
    im::bench::Check(Set(*stub, group, card, "bench-op", i, &response), "Set");
    set_ms.push_back(Ms(Clock::now() - t0));
    const int64_t version = response.value().version();
    std::unique_lock<std::mutex> lock(awaited.mu);
    if (!awaited.cv.wait_for(lock, std::chrono::seconds(10),
                             [&] { return awaited.by_version[version].count >= members; })) {
      ++missed;
      continue;
    }
    to_first.push_back(Ms(awaited.by_version[version].first - t0));
    to_last.push_back(Ms(awaited.by_version[version].last - t0));
  }
  std::printf("Set -> EXTENSION_CHANGED, %d online members, %d Sets one after another:\n", members,
              absl::GetFlag(FLAGS_pushes));
  std::printf("  Set answered     %s\n", Percentiles(set_ms).c_str());
  std::printf("  first member     %s\n", Percentiles(to_first).c_str());
  std::printf("  last member      %s\n", Percentiles(to_last).c_str());
  if (missed > 0) std::printf("  %d Sets not seen by every member within 10 s\n", missed);
  for (auto& client : clients) client->Close();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto message_channel = grpc::CreateChannel(im::bench::GrpcAddress(FLAGS_message, "message"),
                                             grpc::InsecureChannelCredentials());
  auto extension_channel = grpc::CreateChannel(im::bench::GrpcAddress(FLAGS_extension, "extension"),
                                               grpc::InsecureChannelCredentials());
  auto channels = msg::ChannelService::NewStub(message_channel);
  auto messages = msg::MessageService::NewStub(message_channel);
  auto users = im::gateway::v1::UserService::NewStub(grpc::CreateChannel(
      im::bench::GrpcAddress(FLAGS_gateway, "gateway"), grpc::InsecureChannelCredentials()));

  // Set -> notification first, while nothing else loads the suite.
  SetToNotification(extension_channel, *channels, *messages, *users,
                    im::bench::WsAddress(FLAGS_ws));

  const std::string prefix = absl::StrCat("extbench-", absl::ToUnixMillis(absl::Now()));
  std::vector<std::pair<std::string, uint64_t>> spread;
  for (int c = 0; c < absl::GetFlag(FLAGS_channels); ++c) {
    const std::string group = absl::StrCat(prefix, "-g", c);
    im::bench::CreateGroup(*channels, group, {"bench-owner"});
    for (uint64_t id : SendCards(*messages, group, absl::GetFlag(FLAGS_messages_per_channel))) {
      spread.emplace_back(group, id);
    }
  }
  Throughput("spread", extension_channel, spread);
  Throughput("one hot message", extension_channel, {spread.front()});
  return 0;
}
