// im_load: the load generator. Runs one scenario against a running suite and writes its result as
// JSON and Markdown, or (--report_from) combines scenario results and storage ceilings into the
// benchmark report. The suite's addresses and processes come from its stack file (--stack_dir),
// an address flag given on the command line winning. tools/bench/README.md lists the scenarios and
// flags; scripts/bench.sh runs the standard set.
//
//   build/tools/bench/im_load --scenario chat --pairs 50 --seconds 10 --out_json chat.json
//   build/tools/bench/im_load --report_from chat.json,group.json --out_md report.md
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/bench/load/report.h"
#include "tools/bench/load/scenarios.h"
#include "tools/bench/stack_env.h"

ABSL_FLAG(std::string, scenario, "chat", "chat, group, idle or reconnect.");
ABSL_FLAG(std::string, name, "", "Name of the result (default: the scenario).");
ABSL_FLAG(std::string, ws, "", "Gateway WebSocket host:port; default: the stack's.");
ABSL_FLAG(std::string, grpc_gateway, "",
          "Gateway gRPC, for UserService.SetToken; default: the stack's.");
ABSL_FLAG(std::string, grpc_message, "",
          "Message service gRPC, for ChannelService; default: the stack's.");
ABSL_FLAG(bool, json, false, "JSON text frames instead of binary protobuf.");
ABSL_FLAG(int, io_threads, 2, "Client I/O threads shared by all connections.");
ABSL_FLAG(int, source_addrs, 1,
          "Connect from 127.0.0.1..127.0.0.N (more ephemeral ports; idle raises it as needed).");
ABSL_FLAG(double, seconds, 10, "How long senders send.");
ABSL_FLAG(double, drain_seconds, 20, "Most time after sending for acks, catch-ups, deliveries.");
ABSL_FLAG(double, rate, 0, "Messages/s over all senders; 0 = as fast as --window allows.");
ABSL_FLAG(int, window, 64, "SENDs in flight per sending channel.");
ABSL_FLAG(int64_t, max_messages, 0, "Most messages per sending channel; 0 = only --seconds.");
ABSL_FLAG(int, payload_bytes, 64, "Payload size (at least 20: send time, sender, number).");
ABSL_FLAG(bool, recvack, true, "RECVACK every push, as real clients do.");
ABSL_FLAG(int, pairs, 50, "chat: user pairs (two connections, two sending channels each).");
ABSL_FLAG(int, groups, 2, "group: number of groups.");
ABSL_FLAG(int, group_size, 500, "group: members per group.");
ABSL_FLAG(double, online_share, 1.0, "group: share of members connected.");
ABSL_FLAG(int, senders_per_group, 4, "group: connected members that send.");
ABSL_FLAG(int, connections, 1000, "idle: connections to open and hold.");
ABSL_FLAG(double, hold_seconds, 20, "idle: how long to hold them (pinging).");
ABSL_FLAG(double, ping_seconds, 30, "PING interval per connection.");
ABSL_FLAG(double, reconnect_share, 0.3, "reconnect: share of users reset per storm.");
ABSL_FLAG(int, storms, 2, "reconnect: storms during the run.");
ABSL_FLAG(std::string, reconnect_workload, "chat", "reconnect: chat or group traffic.");
ABSL_FLAG(int, connect_concurrency, 256, "CONNECT handshakes in flight.");
ABSL_FLAG(double, connect_timeout, 180, "Most seconds for connecting everyone.");
ABSL_FLAG(std::string, stack_dir, "",
          "Folder of the stack file (stack.env) naming the suite's addresses and processes; "
          "default: .local/run (scripts/run.sh's), else run.sh's usual addresses.");
ABSL_FLAG(std::string, procs, "",
          "Processes to watch as name=pid[+],... ('+' adds children); default: the stack file's.");
ABSL_FLAG(std::string, run_id, "", "Prefix of uids and group ids (default: time + name).");
ABSL_FLAG(bool, progress, true, "Print a live progress line on stderr.");
ABSL_FLAG(std::string, out_json, "", "Write the result JSON here.");
ABSL_FLAG(std::string, out_md, "", "Write the Markdown summary here (stdout always gets it).");

ABSL_FLAG(std::string, report_from, "",
          "Report mode: comma-separated scenario result JSON files to combine.");
ABSL_FLAG(double, pg_insert_rows_per_sec, 0, "Report: measured Postgres message-row ceiling.");
ABSL_FLAG(std::string, pg_method, "", "Report: how the Postgres ceiling was measured.");
ABSL_FLAG(double, redis_incr_per_sec, 0, "Report: measured Redis INCR/s.");
ABSL_FLAG(double, redis_incr_pipelined_per_sec, 0, "Report: measured pipelined Redis INCR/s.");
ABSL_FLAG(std::string, redis_method, "", "Report: how the Redis ceiling was measured.");
ABSL_FLAG(double, fanout_deliveries_per_sec, 0,
          "Report: measured loopback fan-out ceiling (frames + acks per second).");
ABSL_FLAG(std::string, fanout_method, "", "Report: how the fan-out ceiling was measured.");
ABSL_FLAG(std::string, method_file, "", "Report: Markdown file describing the method.");
ABSL_FLAG(std::string, command, "scripts/bench.sh", "Report: the command that produced it.");

namespace {

bool WriteFile(const std::string& path, const std::string& text) {
  if (path.empty()) return true;
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int Report() {
  std::vector<nlohmann::json> scenarios;
  const std::vector<std::string> paths =
      absl::StrSplit(absl::GetFlag(FLAGS_report_from), ',', absl::SkipEmpty());
  for (const std::string& path : paths) {
    nlohmann::json parsed = nlohmann::json::parse(ReadFile(path), nullptr, false);
    if (parsed.is_discarded()) {
      std::fprintf(stderr, "im_load: %s is not a result JSON\n", path.c_str());
      return 2;
    }
    scenarios.push_back(std::move(parsed));
  }
  im::load::Ceilings ceilings;
  ceilings.pg_insert_rows_per_sec = absl::GetFlag(FLAGS_pg_insert_rows_per_sec);
  ceilings.pg_method = absl::GetFlag(FLAGS_pg_method);
  ceilings.redis_incr_per_sec = absl::GetFlag(FLAGS_redis_incr_per_sec);
  ceilings.redis_incr_pipelined_per_sec = absl::GetFlag(FLAGS_redis_incr_pipelined_per_sec);
  ceilings.redis_method = absl::GetFlag(FLAGS_redis_method);
  ceilings.fanout_deliveries_per_sec = absl::GetFlag(FLAGS_fanout_deliveries_per_sec);
  ceilings.fanout_method = absl::GetFlag(FLAGS_fanout_method);
  const std::string method =
      absl::GetFlag(FLAGS_method_file).empty() ? "" : ReadFile(absl::GetFlag(FLAGS_method_file));
  const nlohmann::json report =
      im::load::BuildReport(scenarios, ceilings, method, absl::GetFlag(FLAGS_command));
  const std::string md = im::load::ReportMarkdown(report);
  std::fputs(md.c_str(), stdout);
  if (!WriteFile(absl::GetFlag(FLAGS_out_json), report.dump(2) + "\n") ||
      !WriteFile(absl::GetFlag(FLAGS_out_md), md)) {
    std::fprintf(stderr, "im_load: cannot write the report\n");
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Load generator: runs one scenario against a running suite (see tools/bench/README.md).");
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_report_from).empty()) return Report();

  absl::StatusOr<im::bench::StackEnv> stack =
      im::bench::ReadStackDir(absl::GetFlag(FLAGS_stack_dir));
  if (!stack.ok()) {
    std::fprintf(stderr, "im_load: %s\n", stack.status().ToString().c_str());
    return 2;
  }
  im::load::ScenarioConfig config;
  config.scenario = absl::GetFlag(FLAGS_scenario);
  config.name = absl::GetFlag(FLAGS_name);
  config.run_id = absl::GetFlag(FLAGS_run_id);
  config.gateway_grpc =
      im::bench::FlagOrStack(absl::GetFlag(FLAGS_grpc_gateway), stack->GrpcAddress("gateway"));
  config.message_grpc =
      im::bench::FlagOrStack(absl::GetFlag(FLAGS_grpc_message), stack->GrpcAddress("message"));
  const std::string ws_address =
      im::bench::FlagOrStack(absl::GetFlag(FLAGS_ws), stack->WsAddress());
  std::vector<std::string> ws = absl::StrSplit(ws_address, ':');
  if (ws.size() != 2 || !absl::SimpleAtoi(ws[1], &config.engine.ws_port)) {
    std::fprintf(stderr, "im_load: --ws must be host:port, not '%s'\n", ws_address.c_str());
    return 2;
  }
  config.engine.ws_host = ws[0];
  config.engine.encoding = absl::GetFlag(FLAGS_json) ? im::Encoding::kJson : im::Encoding::kBinary;
  config.engine.io_threads = absl::GetFlag(FLAGS_io_threads);
  config.engine.source_addrs = absl::GetFlag(FLAGS_source_addrs);
  config.engine.window = std::max(1, absl::GetFlag(FLAGS_window));
  config.engine.payload_bytes = absl::GetFlag(FLAGS_payload_bytes);
  config.engine.recvack = absl::GetFlag(FLAGS_recvack);
  config.engine.ping_interval = absl::Seconds(absl::GetFlag(FLAGS_ping_seconds));
  config.seconds = absl::GetFlag(FLAGS_seconds);
  config.drain_seconds = absl::GetFlag(FLAGS_drain_seconds);
  config.rate = absl::GetFlag(FLAGS_rate);
  config.max_messages = absl::GetFlag(FLAGS_max_messages);
  config.pairs = absl::GetFlag(FLAGS_pairs);
  config.groups = absl::GetFlag(FLAGS_groups);
  config.group_size = absl::GetFlag(FLAGS_group_size);
  config.online_share = absl::GetFlag(FLAGS_online_share);
  config.senders_per_group = absl::GetFlag(FLAGS_senders_per_group);
  config.connections = absl::GetFlag(FLAGS_connections);
  config.hold_seconds = absl::GetFlag(FLAGS_hold_seconds);
  config.reconnect_share = absl::GetFlag(FLAGS_reconnect_share);
  config.storms = absl::GetFlag(FLAGS_storms);
  config.reconnect_workload = absl::GetFlag(FLAGS_reconnect_workload);
  config.connect_concurrency = std::max(1, absl::GetFlag(FLAGS_connect_concurrency));
  config.connect_timeout_seconds = absl::GetFlag(FLAGS_connect_timeout);
  config.procs = absl::GetFlag(FLAGS_procs);
  config.stack = *std::move(stack);
  config.progress = absl::GetFlag(FLAGS_progress);
  if (config.seconds <= 0 || config.pairs < 1 || config.groups < 1 || config.group_size < 2 ||
      config.connections < 1 || config.online_share <= 0 || config.online_share > 1) {
    std::fprintf(stderr,
                 "im_load: --seconds, --pairs, --groups, --connections must be positive, "
                 "--group_size >= 2, 0 < --online_share <= 1\n");
    return 2;
  }

  absl::StatusOr<nlohmann::json> result = im::load::RunScenario(config);
  if (!result.ok()) {
    std::fprintf(stderr, "im_load: %s\n", result.status().ToString().c_str());
    return 1;
  }
  const std::string md = im::load::ScenarioMarkdown(*result);
  std::fputs(md.c_str(), stdout);
  if (!WriteFile(absl::GetFlag(FLAGS_out_json), result->dump(2) + "\n") ||
      !WriteFile(absl::GetFlag(FLAGS_out_md), md)) {
    std::fprintf(stderr, "im_load: cannot write the result files\n");
    return 1;
  }
  // A failed verification is the run's verdict.
  return (*result)["verify"]["ok"].get<bool>() ? 0 : 3;
}
