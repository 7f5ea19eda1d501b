// The benchmark report (scripts/bench.sh): the scenarios' results beside the storage ceilings
// measured on the same machine, and each of the suite's load targets marked met or missed.
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace im::load {

struct Ceilings {
  // Message rows/s Postgres takes with the message store's batched INSERT (pgbench), and Redis
  // INCR/s (redis-benchmark, without and with pipelining); 0 = not measured.
  double pg_insert_rows_per_sec = 0;
  double redis_incr_per_sec = 0;
  double redis_incr_pipelined_per_sec = 0;
  // Frames/s the kernel moves to distinct loopback connections with an ack back for each
  // (tools/bench/ceilings/loopback_fanout.cc): the bound for fan-out deliveries; 0 = not measured.
  double fanout_deliveries_per_sec = 0;
  std::string pg_method;
  std::string redis_method;
  std::string fanout_method;
};

// `scenarios` are RunScenario results; the targets look for the names bench.sh gives them
// (chat_max, chat_10k, group_500, idle, reconnect).
nlohmann::json BuildReport(const std::vector<nlohmann::json>& scenarios, const Ceilings& ceilings,
                           const std::string& method_markdown, const std::string& command);

std::string ReportMarkdown(const nlohmann::json& report);

}  // namespace im::load
