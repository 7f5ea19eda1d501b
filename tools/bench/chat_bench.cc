// 1:1 chat throughput and latency through a running suite, over WebSocket as real clients use it:
// --pairs sender/receiver pairs, each sender keeping --window SENDs in flight for --seconds (or
// until --messages each), receivers timestamping RECVs. The payload carries the send time, so
// send->receive latency needs no clock sync (all clients live in this process). Prints a short
// report: acked and received messages/s, ack latency and send->receive latency percentiles.
//
// The gateway's per-connection rate limit (100 frames/s by default) refuses a full-speed sender, so
// run it with a high one for this: IM_RATE_LIMIT_PER_SEC=1000000 IM_RATE_LIMIT_BURST=1000000.
//
//   IM_RATE_LIMIT_PER_SEC=1000000 IM_RATE_LIMIT_BURST=1000000 scripts/run.sh &   # then:
//   build/tools/bench/chat_bench --ws 127.0.0.1:8080 --grpc_gateway 127.0.0.1:7002 --seconds 10
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "tools/client/im_client.h"

ABSL_FLAG(std::string, ws, "127.0.0.1:8080", "Gateway WebSocket host:port.");
ABSL_FLAG(std::string, grpc_gateway, "127.0.0.1:7002",
          "Gateway gRPC host:port, to register the bench users' tokens.");
ABSL_FLAG(int, pairs, 2, "Sender/receiver pairs, each two connections.");
ABSL_FLAG(int, window, 256,
          "SENDs in flight per sender; latency grows with it once the server is saturated.");
ABSL_FLAG(double, seconds, 10, "How long senders send.");
ABSL_FLAG(int64_t, messages, 0, "Stop each sender after this many messages; 0 = only --seconds.");
ABSL_FLAG(int, payload_bytes, 64, "Payload size (at least 16: send time and counter).");
ABSL_FLAG(bool, json, false, "JSON text frames instead of binary protobuf.");
ABSL_FLAG(bool, recvack, true, "Receivers RECVACK every message, as real clients do.");
ABSL_FLAG(double, drain_seconds, 10, "After sending, how long to wait for acks and deliveries.");

namespace {

namespace common = im::common::v1;
using Clock = std::chrono::steady_clock;
using im::client::ImClient;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "chat_bench: %s\n", message.c_str());
  std::exit(1);
}

// One direction of a pair. Latency vectors are written on the clients' threads and read only after
// Close (which joins them).
struct Pair {
  std::string sender_uid;
  std::string receiver_uid;
  std::unique_ptr<ImClient> sender;
  std::unique_ptr<ImClient> receiver;

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;

  int64_t sent = 0;
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> failed{0};
  std::string first_error;
  std::vector<double> ack_ms;

  std::atomic<int64_t> received{0};
  std::atomic<int64_t> last_receive_ns{0};
  std::vector<double> deliver_ms;
};

std::unique_ptr<ImClient> Login(const std::string& uid, const std::string& device) {
  std::vector<std::string> parts = absl::StrSplit(absl::GetFlag(FLAGS_ws), ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) Die("--ws must be host:port");
  auto client = std::make_unique<ImClient>();
  const auto encoding =
      absl::GetFlag(FLAGS_json) ? im::client::Encoding::kJson : im::client::Encoding::kBinary;
  if (absl::Status s = client->Connect(parts[0], port, encoding); !s.ok()) Die(s.ToString());
  absl::StatusOr<im::client::ConnAck> ack =
      client->Handshake(uid, "bench", device, common::DEVICE_FLAG_APP);
  if (!ack.ok()) Die(absl::StrCat("CONNECT ", uid, ": ", ack.status().ToString()));
  if (ack->reason() != common::REASON_CODE_SUCCESS) {
    Die(absl::StrCat("CONNECT ", uid, " refused: ", common::ReasonCode_Name(ack->reason()), " ",
                     ack->message()));
  }
  return client;
}

void SetToken(im::gateway::v1::UserService::Stub& users, const std::string& uid) {
  im::gateway::v1::SetTokenRequest request;
  request.set_uid(uid);
  request.set_device_flag(common::DEVICE_FLAG_APP);
  request.set_token("bench");
  im::gateway::v1::SetTokenResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Status status = users.SetToken(&context, request, &response);
  if (!status.ok()) Die(absl::StrCat("SetToken ", uid, ": ", status.error_message()));
}

void Receive(Pair& pair, const im::client::Frame& frame) {
  if (!frame.has_recv()) return;
  const common::Message& message = frame.recv().message();
  const int64_t now = NowNanos();
  int64_t sent_at = 0;
  if (message.payload().size() >= sizeof(sent_at)) {
    std::memcpy(&sent_at, message.payload().data(), sizeof(sent_at));
    pair.deliver_ms.push_back((now - sent_at) / 1e6);
  }
  pair.received.fetch_add(1);
  pair.last_receive_ns.store(now);
  if (absl::GetFlag(FLAGS_recvack)) (void)pair.receiver->RecvAck(message);
}

void SendLoop(Pair& pair, Clock::time_point end, int64_t limit, int window, size_t payload_bytes) {
  const common::Channel channel = im::client::PersonChannel(pair.receiver_uid);
  std::string payload(payload_bytes, 'x');
  while (Clock::now() < end && (limit == 0 || pair.sent < limit) && !pair.sender->closed()) {
    {
      std::unique_lock<std::mutex> lock(pair.mu);
      pair.cv.wait(lock, [&] { return pair.in_flight < window; });
      ++pair.in_flight;
    }
    const int64_t sent_at = NowNanos();
    std::memcpy(payload.data(), &sent_at, sizeof(sent_at));
    std::memcpy(payload.data() + sizeof(sent_at), &pair.sent, sizeof(pair.sent));
    pair.sender->SendAsync(
        channel, absl::StrCat("b", pair.sent), payload, {},
        [&pair, sent_at](absl::StatusOr<im::client::Frame> frame) {
          const bool ok = frame.ok() && frame->has_sendack() &&
                          frame->sendack().reason() == common::REASON_CODE_SUCCESS;
          if (ok) {
            pair.ack_ms.push_back((NowNanos() - sent_at) / 1e6);
            pair.acked.fetch_add(1);
          } else {
            if (pair.failed.fetch_add(1) == 0) {
              pair.first_error = frame.ok() ? frame->ShortDebugString() : frame.status().ToString();
            }
          }
          std::lock_guard<std::mutex> lock(pair.mu);
          --pair.in_flight;
          pair.cv.notify_all();
        });
    ++pair.sent;
  }
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const size_t k = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

void PrintLatency(const char* name, std::vector<double>& values) {
  const double max = values.empty() ? 0 : *std::max_element(values.begin(), values.end());
  std::printf("%-22s p50 %8.2f  p90 %8.2f  p99 %8.2f  max %8.2f ms  (%zu samples)\n", name,
              Percentile(values, 0.5), Percentile(values, 0.9), Percentile(values, 0.99), max,
              values.size());
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int pairs = absl::GetFlag(FLAGS_pairs);
  const int window = absl::GetFlag(FLAGS_window);
  const size_t payload_bytes =
      static_cast<size_t>(std::max(16, absl::GetFlag(FLAGS_payload_bytes)));
  if (pairs < 1 || window < 1) Die("--pairs and --window must be at least 1");

  auto users = im::gateway::v1::UserService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_grpc_gateway), grpc::InsecureChannelCredentials()));
  const std::string run = absl::StrCat("bench-", std::random_device{}() % 1000000);
  std::vector<std::unique_ptr<Pair>> all;
  for (int i = 0; i < pairs; ++i) {
    auto pair = std::make_unique<Pair>();
    pair->sender_uid = absl::StrCat(run, "-s", i);
    pair->receiver_uid = absl::StrCat(run, "-r", i);
    SetToken(*users, pair->sender_uid);
    SetToken(*users, pair->receiver_uid);
    pair->sender = Login(pair->sender_uid, "bench");
    pair->receiver = Login(pair->receiver_uid, "bench");
    Pair* raw = pair.get();
    pair->receiver->SetPushHandler([raw](const im::client::Frame& frame) { Receive(*raw, frame); });
    all.push_back(std::move(pair));
  }

  const int64_t start_ns = NowNanos();
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::milliseconds(static_cast<int64_t>(absl::GetFlag(FLAGS_seconds) * 1000));
  std::vector<std::thread> senders;
  for (auto& pair : all) {
    senders.emplace_back([&pair, end, window, payload_bytes] {
      SendLoop(*pair, end, absl::GetFlag(FLAGS_messages), window, payload_bytes);
    });
  }
  for (auto& sender : senders) sender.join();
  const auto drain_end =
      Clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(absl::GetFlag(FLAGS_drain_seconds) * 1000));
  for (auto& pair : all) {
    std::unique_lock<std::mutex> lock(pair->mu);
    pair->cv.wait_until(lock, drain_end, [&] { return pair->in_flight == 0; });
  }
  const double ack_elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& pair : all) {
    while (pair->received.load() < pair->acked.load() && Clock::now() < drain_end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  for (auto& pair : all) {
    pair->sender->Close();
    pair->receiver->Close();
  }

  int64_t sent = 0, acked = 0, failed = 0, received = 0, last_receive_ns = start_ns;
  std::vector<double> ack_ms, deliver_ms;
  std::string first_error;
  for (auto& pair : all) {
    sent += pair->sent;
    acked += pair->acked;
    failed += pair->failed;
    received += pair->received;
    last_receive_ns = std::max(last_receive_ns, pair->last_receive_ns.load());
    if (first_error.empty()) first_error = pair->first_error;
    ack_ms.insert(ack_ms.end(), pair->ack_ms.begin(), pair->ack_ms.end());
    deliver_ms.insert(deliver_ms.end(), pair->deliver_ms.begin(), pair->deliver_ms.end());
  }
  const double receive_elapsed = std::max(1e-9, (last_receive_ns - start_ns) / 1e9);

  std::printf("chat_bench: %d pair(s), window %d, %.1f s, payload %zu B, %s frames%s\n", pairs,
              window, absl::GetFlag(FLAGS_seconds), payload_bytes,
              absl::GetFlag(FLAGS_json) ? "JSON" : "binary",
              absl::GetFlag(FLAGS_recvack) ? ", RECVACK on" : "");
  std::printf("%-22s %10lld  %10.0f msg/s\n", "acked", static_cast<long long>(acked),
              acked / ack_elapsed);
  std::printf("%-22s %10lld  %10.0f msg/s\n", "received", static_cast<long long>(received),
              received / receive_elapsed);
  std::printf("%-22s %10lld  (sent %lld)%s%s\n", "failed", static_cast<long long>(failed),
              static_cast<long long>(sent),
              first_error.empty() ? "" : "  first: ", first_error.c_str());
  if (first_error.find("RATE_LIMITED") != std::string::npos) {
    std::printf(
        "the gateway's rate limit refused sends: run it with a high "
        "IM_RATE_LIMIT_PER_SEC and IM_RATE_LIMIT_BURST to measure throughput\n");
  }
  PrintLatency("ack latency", ack_ms);
  PrintLatency("send->recv latency", deliver_ms);
  return failed == 0 && received == acked ? 0 : 1;
}
