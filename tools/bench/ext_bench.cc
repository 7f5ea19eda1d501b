// Extension costs of a running suite (issue 5), over gRPC as a business server calls it:
//   1. Set throughput: --callers threads call ExtensionService.Set back to back for --seconds,
//      spread over --channels groups of --messages_per_channel messages each (no one online), and
//      again all on one message (the hot-row case: every Set of it serializes).
//   2. Set -> notification: --members WebSocket clients of one group are online; --pushes Sets of
//      one message, one after the other; for each, the time from calling Set until the first and
//      until the last member's EXTENSION_CHANGED with that version arrived.
//
//   build/tools/bench/ext_bench --extension 127.0.0.1:7005 --message 127.0.0.1:7003 ...
// (the defaults are scripts/run.sh's ports; --gateway and --ws name the gateway's).
#include <grpcpp/grpcpp.h>

#include <algorithm>
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
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "im/extension/v1/extension.grpc.pb.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "tools/client/im_client.h"

ABSL_FLAG(std::string, extension, "127.0.0.1:7005", "Extension service gRPC address.");
ABSL_FLAG(std::string, message, "127.0.0.1:7003", "Message service gRPC address.");
ABSL_FLAG(std::string, gateway, "127.0.0.1:7002", "Gateway gRPC address (UserService).");
ABSL_FLAG(std::string, ws, "127.0.0.1:8080", "Gateway WebSocket host:port.");
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
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "ext_bench: %s\n", why.c_str());
  std::exit(1);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string Percentiles(std::vector<double> values) {
  if (values.empty()) return "no samples";
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    return values[std::min(values.size() - 1, size_t(q * values.size()))];
  };
  char line[128];
  std::snprintf(line, sizeof(line), "p50 %.2f ms  p99 %.2f ms  max %.2f ms (n=%zu)", at(0.50),
                at(0.99), values.back(), values.size());
  return line;
}

common::Channel Group(const std::string& id) {
  common::Channel channel;
  channel.set_type(common::CHANNEL_TYPE_GROUP);
  channel.set_id(id);
  return channel;
}

template <typename Context>
void Deadline(Context& context, int seconds = 30) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

void CreateGroup(msg::ChannelService::Stub& channels, const std::string& id,
                 const std::vector<std::string>& uids) {
  msg::CreateGroupRequest request;
  request.set_group_id(id);
  for (const std::string& uid : uids) request.add_subscriber_uids(uid);
  grpc::ClientContext context;
  Deadline(context);
  msg::Group group;
  const grpc::Status status = channels.CreateGroup(&context, request, &group);
  if (!status.ok()) Die("CreateGroup: " + status.error_message());
}

// `count` cards in the group; their message ids.
std::vector<uint64_t> SendCards(msg::MessageService::Stub& messages, const std::string& group,
                                int count) {
  msg::SendRequest request;
  for (int i = 0; i < count; ++i) {
    msg::SendItem* item = request.add_items();
    *item->mutable_channel() = Group(group);
    item->set_from_uid("bench-bot");
    item->set_client_msg_no(absl::StrCat(group, "-", i));
    item->set_payload("card");
    item->set_skip_subscriber_check(true);
  }
  grpc::ClientContext context;
  Deadline(context);
  msg::SendResponse response;
  const grpc::Status status = messages.Send(&context, request, &response);
  if (!status.ok()) Die("Send: " + status.error_message());
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
  *request.mutable_channel() = Group(group);
  request.set_message_id(message_id);
  request.set_operator_uid(operator_uid);
  request.set_status(n);
  request.set_mode(ext::SET_MODE_MERGE_PATCH);
  request.set_ext(absl::StrCat(R"({"n":)", n, R"(,"by":")", operator_uid, R"("})"));
  grpc::ClientContext context;
  Deadline(context, 10);
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
                       msg::ChannelService::Stub& channels, msg::MessageService::Stub& messages) {
  const int members = absl::GetFlag(FLAGS_members);
  const std::string group = absl::StrCat("extbench-push-", absl::ToUnixMillis(absl::Now()));
  std::vector<std::string> uids;
  for (int i = 0; i < members; ++i) uids.push_back(absl::StrCat(group, "-m", i));
  CreateGroup(channels, group, uids);

  auto users = im::gateway::v1::UserService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_gateway), grpc::InsecureChannelCredentials()));
  const std::vector<std::string> ws = absl::StrSplit(absl::GetFlag(FLAGS_ws), ':');
  int ws_port = 0;
  if (ws.size() != 2 || !absl::SimpleAtoi(ws[1], &ws_port)) Die("--ws must be host:port");
  Awaited awaited;
  std::vector<std::unique_ptr<im::client::ImClient>> clients;
  for (const std::string& uid : uids) {
    im::gateway::v1::SetTokenRequest token;
    token.set_uid(uid);
    token.set_device_flag(common::DEVICE_FLAG_APP);
    token.set_token("bench");
    grpc::ClientContext context;
    Deadline(context);
    im::gateway::v1::SetTokenResponse ignored;
    if (grpc::Status s = users->SetToken(&context, token, &ignored); !s.ok()) {
      Die("SetToken: " + s.error_message());
    }
    auto client = std::make_unique<im::client::ImClient>();
    if (absl::Status s = client->Connect(ws[0], ws_port, im::Encoding::kBinary); !s.ok()) {
      Die(s.ToString());
    }
    auto ack = client->Handshake(uid, "bench", "d1", common::DEVICE_FLAG_APP);
    if (!ack.ok() || ack->reason() != common::REASON_CODE_SUCCESS) Die("CONNECT " + uid);
    client->SetPushHandler([&awaited](const im::client::Frame& frame) {
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
    });
    clients.push_back(std::move(client));
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
    const grpc::Status status = Set(*stub, group, card, "bench-op", i, &response);
    if (!status.ok()) Die("Set: " + status.error_message());
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
  auto message_channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_message), grpc::InsecureChannelCredentials());
  auto extension_channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_extension), grpc::InsecureChannelCredentials());
  auto channels = msg::ChannelService::NewStub(message_channel);
  auto messages = msg::MessageService::NewStub(message_channel);

  // Set -> notification first, while nothing else loads the suite.
  SetToNotification(extension_channel, *channels, *messages);

  const std::string prefix = absl::StrCat("extbench-", absl::ToUnixMillis(absl::Now()));
  std::vector<std::pair<std::string, uint64_t>> spread;
  for (int c = 0; c < absl::GetFlag(FLAGS_channels); ++c) {
    const std::string group = absl::StrCat(prefix, "-g", c);
    CreateGroup(*channels, group, {"bench-owner"});
    for (uint64_t id : SendCards(*messages, group, absl::GetFlag(FLAGS_messages_per_channel))) {
      spread.emplace_back(group, id);
    }
  }
  Throughput("spread", extension_channel, spread);
  Throughput("one hot message", extension_channel, {spread.front()});
  return 0;
}
