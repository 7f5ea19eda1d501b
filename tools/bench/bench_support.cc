#include "tools/bench/bench_support.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tools/bench/stack_env.h"

ABSL_FLAG(std::string, stack_dir, "",
          "Folder of the stack file (stack.env) giving the addresses no flag sets; default: "
          ".local/run (scripts/run.sh's), else run.sh's usual addresses.");

namespace im::bench {
namespace {

namespace common = im::common::v1;

// Read once, at the first address asked for (after the flags are parsed).
const StackEnv& Stack() {
  static const StackEnv* const stack = [] {
    absl::StatusOr<StackEnv> read = ReadStackDir(absl::GetFlag(FLAGS_stack_dir));
    if (!read.ok()) Die(read.status().ToString());
    return new StackEnv(*std::move(read));
  }();
  return *stack;
}

}  // namespace

void Die(absl::string_view message) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, std::string(message).c_str());
  std::exit(1);
}

void Check(const grpc::Status& status, absl::string_view what) {
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.error_message()));
}

std::string GrpcAddress(const absl::Flag<std::string>& flag, absl::string_view service) {
  return FlagOrStack(absl::GetFlag(flag), Stack().GrpcAddress(service));
}

std::string WsAddress(const absl::Flag<std::string>& flag) {
  return FlagOrStack(absl::GetFlag(flag), Stack().WsAddress());
}

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

double Ms(Clock::duration elapsed) {
  return std::chrono::duration<double, std::milli>(elapsed).count();
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const size_t k = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  std::nth_element(values.begin(), values.begin() + k, values.end());
  return values[k];
}

std::string Percentiles(std::vector<double> ms) {
  if (ms.empty()) return "no samples";
  return absl::StrFormat("p50 %.2f ms  p99 %.2f ms  max %.2f ms (n=%d)", Percentile(ms, 0.50),
                         Percentile(ms, 0.99), Percentile(ms, 1.0), ms.size());
}

void CreateGroup(im::message::v1::ChannelService::Stub& channels, const std::string& id,
                 const std::vector<std::string>& uids) {
  im::message::v1::CreateGroupRequest request;
  request.set_group_id(id);
  for (const std::string& uid : uids) request.add_subscriber_uids(uid);
  grpc::ClientContext context;
  SetDeadline(context, absl::Minutes(2));
  im::message::v1::Group group;
  Check(channels.CreateGroup(&context, request, &group), "CreateGroup");
}

std::unique_ptr<im::client::ImClient> ConnectUser(
    im::gateway::v1::UserService::Stub& users, const std::string& ws, const std::string& uid,
    std::function<void(const im::client::Frame&)> on_push) {
  im::gateway::v1::SetTokenRequest token;
  token.set_uid(uid);
  token.set_device_flag(common::DEVICE_FLAG_APP);
  token.set_token("bench");
  im::gateway::v1::SetTokenResponse set;
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(30));
  Check(users.SetToken(&context, token, &set), absl::StrCat("SetToken ", uid));

  const std::vector<std::string> parts = absl::StrSplit(ws, ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) {
    Die(absl::StrCat("the WebSocket address must be host:port, not '", ws, "'"));
  }
  auto client = std::make_unique<im::client::ImClient>();
  if (absl::Status s = client->Connect(parts[0], port, im::client::Encoding::kBinary); !s.ok()) {
    Die(absl::StrCat("connect ", ws, ": ", s.ToString()));
  }
  absl::StatusOr<im::client::ConnAck> ack =
      client->Handshake(uid, "bench", "d1", common::DEVICE_FLAG_APP);
  if (!ack.ok()) Die(absl::StrCat("CONNECT ", uid, ": ", ack.status().ToString()));
  if (ack->reason() != common::REASON_CODE_SUCCESS) {
    Die(absl::StrCat("CONNECT ", uid, " refused: ", common::ReasonCode_Name(ack->reason()), " ",
                     ack->message()));
  }
  client->SetPushHandler(std::move(on_push));
  return client;
}

}  // namespace im::bench
