// The load generator's scenarios, each one bounded run against a running suite:
//   chat       pairs of users exchanging 1:1 messages, at --rate or as fast as the window allows
//   group      groups of --group_size (made with ChannelService), --online_share of members
//              connected, --senders_per_group of them sending
//   idle       --connections connections held with pings; the gateway's RSS per connection
//   reconnect  the chat (or group) workload while --storms times a --reconnect_share of users is
//              reset and reconnects at once, each catching up by seq and resending unacked SENDs
// Each returns its result as JSON (counts, the verifier's verdict, latency percentiles, throughput,
// CPU and RSS of the stack's processes); ScenarioMarkdown renders it.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tools/bench/load/load_engine.h"
#include "tools/bench/stack_env.h"

namespace im::load {

struct ScenarioConfig {
  std::string scenario = "chat";
  // Names the result (bench.sh runs chat twice: chat_max and chat_10k).
  std::string name;
  // Prefix of every uid and group id, so runs never share channels.
  std::string run_id;
  std::string gateway_grpc = "127.0.0.1:7002";
  std::string message_grpc = "127.0.0.1:7003";
  EngineOptions engine;

  double seconds = 10;
  double drain_seconds = 20;
  // Messages/s over all senders; 0 = closed loop, each sending channel keeps --window in flight.
  double rate = 0;
  int64_t max_messages = 0;

  int pairs = 50;
  int groups = 2;
  int group_size = 500;
  double online_share = 1.0;
  int senders_per_group = 4;

  int connections = 1000;
  double hold_seconds = 20;

  double reconnect_share = 0.3;
  int storms = 2;
  std::string reconnect_workload = "chat";

  int connect_concurrency = 256;
  double connect_timeout_seconds = 180;
  // The processes to watch: an explicit name=pid list, else the ones the stack file names.
  std::string procs;
  bench::StackEnv stack;
  bool progress = true;
};

absl::StatusOr<nlohmann::json> RunScenario(const ScenarioConfig& config);

std::string ScenarioMarkdown(const nlohmann::json& result);

}  // namespace im::load
