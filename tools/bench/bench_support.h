// What the single-purpose benchmarks (cmd_bench, conv_bench, ext_bench, seq_bench) share: where
// the stack is (the stack file in --stack_dir, an address flag that is set winning),
// a deadline per call, latency percentiles, and the business-server and client steps they all
// take (groups, tokens, a connected user). Every failure ends the benchmark with a message.
//
//   ABSL_FLAG(std::string, message, "", "Message service gRPC address; default: the stack's.");
//   ...
//   absl::ParseCommandLine(argc, argv);
//   auto channel = grpc::CreateChannel(im::bench::GrpcAddress(FLAGS_message, "message"), ...);
//   std::printf("send->ack %s\n", im::bench::Percentiles(latencies_ms).c_str());
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "tools/client/im_client.h"

ABSL_DECLARE_FLAG(std::string, stack_dir);

namespace im::bench {

using Clock = std::chrono::steady_clock;

// Prints "<program>: `message`" on stderr and exits with status 1.
[[noreturn]] void Die(absl::string_view message);
// Dies with "`what`: <error>" unless `status` is OK.
void Check(const grpc::Status& status, absl::string_view what);

// The gRPC address of `service` ("message", ...): `flag` when set, else the stack's (see
// ReadStackDir in stack_env.h). A stack file that cannot be read ends the benchmark.
std::string GrpcAddress(const absl::Flag<std::string>& flag, absl::string_view service);
// The same for the gateway's WebSocket (host:port).
std::string WsAddress(const absl::Flag<std::string>& flag);

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout);

double Ms(Clock::duration elapsed);
// The q-quantile of `values` (q = 1 is the largest); 0 when empty.
double Percentile(std::vector<double> values, double q);
// "p50 A ms  p99 B ms  max C ms (n=N)" of latencies in milliseconds, or "no samples".
std::string Percentiles(std::vector<double> ms);

// Creates group `id` with `uids` as its subscribers.
void CreateGroup(im::message::v1::ChannelService::Stub& channels, const std::string& id,
                 const std::vector<std::string>& uids);

// Registers token "bench" for `uid` (an APP device), connects it over WebSocket at `ws`
// (host:port, binary frames) and hands every push it gets to `on_push`, on the client's thread.
std::unique_ptr<im::client::ImClient> ConnectUser(
    im::gateway::v1::UserService::Stub& users, const std::string& ws, const std::string& uid,
    std::function<void(const im::client::Frame&)> on_push);

}  // namespace im::bench
