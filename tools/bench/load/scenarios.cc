#include "tools/bench/load/scenarios.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tools/bench/load/delivery_verifier.h"
#include "tools/bench/load/proc_stats.h"
#include "tools/bench/load/stack_admin.h"
#include "tools/client/im_client.h"

namespace im::load {
namespace {

using nlohmann::json;

const std::vector<std::string> kServices = {"gateway", "message", "sequence", "conversation",
                                            "extension"};
// Ephemeral ports per source address, with room for what else runs.
constexpr int kConnectionsPerSource = 25000;
// File descriptors a process needs besides its connections (gRPC, logs, Redis, Postgres).
constexpr int64_t kSpareFds = 300;

json LatencyJson(const LatencyHistogram& h) {
  return {{"count", h.count()},
          {"p50", h.Percentile(0.50) / 1000.0},
          {"p90", h.Percentile(0.90) / 1000.0},
          {"p99", h.Percentile(0.99) / 1000.0},
          {"p999", h.Percentile(0.999) / 1000.0},
          {"max", h.max() / 1000.0},
          {"mean", h.mean() / 1000.0}};
}

// What the scenario watches while it runs: CPU between two samples, RSS at the end and its max.
class ProcWatch {
 public:
  explicit ProcWatch(std::vector<WatchedProcess> procs) : procs_(std::move(procs)) {}

  void Start() {
    start_ = SampleProcesses(procs_);
    start_time_ = absl::Now();
    Tick();
  }
  void Tick() {
    for (const auto& [name, usage] : SampleProcesses(procs_)) {
      max_rss_[name] = std::max(max_rss_[name], usage.rss_bytes);
    }
  }
  json Stop() {
    const ProcSample end = SampleProcesses(procs_);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start_time_);
    json out = json::object();
    for (const WatchedProcess& proc : procs_) {
      const ProcUsage& a = start_[proc.name];
      const ProcUsage& b = end.at(proc.name);
      const double cpu = b.cpu_seconds - a.cpu_seconds;
      out[proc.name] = {{"pid", proc.pid},
                        {"cpu_seconds", cpu},
                        {"cpu_percent", seconds > 0 ? 100.0 * cpu / seconds : 0},
                        {"rss_mb_start", a.rss_bytes / 1048576.0},
                        {"rss_mb_end", b.rss_bytes / 1048576.0},
                        {"rss_mb_max", std::max(max_rss_[proc.name], b.rss_bytes) / 1048576.0},
                        {"alive", b.alive}};
    }
    return out;
  }
  int PidOf(const std::string& name) const {
    for (const WatchedProcess& proc : procs_) {
      if (proc.name == name) return proc.pid;
    }
    return 0;
  }

 private:
  std::vector<WatchedProcess> procs_;
  ProcSample start_;
  absl::Time start_time_;
  std::map<std::string, int64_t> max_rss_;
};

absl::StatusOr<std::vector<WatchedProcess>> WatchedProcesses(const ScenarioConfig& config) {
  std::vector<WatchedProcess> procs;
  if (!config.procs.empty()) {
    absl::StatusOr<std::vector<WatchedProcess>> parsed = ParseProcessList(config.procs);
    if (!parsed.ok()) return parsed.status();
    procs = *parsed;
  } else {
    procs = StackProcesses(config.stack, kServices);
  }
  procs.push_back({"im_load", static_cast<int>(getpid()), false});
  return procs;
}

// The live progress line (stderr), and the per-second timeline of throughput and send->receive
// p99 (so a tail can be placed in time).
class Progress {
 public:
  Progress(const ScenarioConfig& config, const LoadEngine& engine)
      : config_(config), engine_(engine), start_(absl::Now()), tty_(isatty(2)) {}

  void Print(const std::string& phase) {
    const Counters& c = engine_.counters();
    const absl::Time now = absl::Now();
    const double dt = std::max(1e-3, absl::ToDoubleSeconds(now - last_time_));
    const int64_t acked = c.acked.load(), delivered = c.delivered.load();
    const double ack_rate = (acked - last_acked_) / dt;
    const double delivered_rate = (delivered - last_delivered_) / dt;
    const LatencyHistogram& send_recv = engine_.histograms().send_recv;
    timeline_.push_back(
        {{"t", absl::ToDoubleSeconds(now - start_)},
         {"phase", phase},
         {"acked_per_s", ack_rate},
         {"delivered_per_s", delivered_rate},
         {"send_recv_p99_ms", send_recv.PercentileSince(last_send_recv_, 0.99) / 1000.0},
         {"online", c.online.load()}});
    last_send_recv_ = send_recv.Snapshot();
    last_time_ = now;
    last_acked_ = acked;
    last_delivered_ = delivered;
    if (!config_.progress) return;
    const std::string line = absl::StrFormat(
        "[%s %s %5.0fs] online %lld | sent %lld acked %lld failed %lld | delivered %lld "
        "(+%lld sync) | %.0f ack/s %.0f dlv/s | ack p99 %.1f ms, recv p99 %.1f ms",
        config_.name, phase, absl::ToDoubleSeconds(now - start_),
        static_cast<long long>(c.online.load()), static_cast<long long>(c.sent.load()),
        static_cast<long long>(acked), static_cast<long long>(c.send_failed.load()),
        static_cast<long long>(delivered), static_cast<long long>(c.catchup_delivered.load()),
        ack_rate, delivered_rate, engine_.histograms().send_ack.Percentile(0.99) / 1000.0,
        engine_.histograms().send_recv.Percentile(0.99) / 1000.0);
    std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", line.c_str());
  }
  void End() {
    if (config_.progress && tty_) std::fprintf(stderr, "\n");
  }
  json timeline() const { return timeline_; }

 private:
  const ScenarioConfig& config_;
  const LoadEngine& engine_;
  absl::Time start_;
  absl::Time last_time_ = absl::Now();
  int64_t last_acked_ = 0;
  int64_t last_delivered_ = 0;
  // send->receive bucket counts at the previous line, for each second's own p99.
  std::vector<uint64_t> last_send_recv_;
  bool tty_;
  json timeline_ = json::array();
};

// Sleeps until `until`, printing progress and sampling processes every second; `on_tick` (may be
// empty) runs each second too.
void RunFor(absl::Time until, const std::string& phase, Progress& progress, ProcWatch& watch,
            const std::function<void()>& on_tick = {}) {
  while (absl::Now() < until) {
    absl::SleepFor(std::min(absl::Seconds(1), until - absl::Now()));
    progress.Print(phase);
    watch.Tick();
    if (on_tick) on_tick();
  }
}

struct Built {
  std::vector<uint32_t> users;
  std::vector<std::string> uids;
  json shape;
};

// Pairs of users, each sending to the other in their PERSON channel.
Built BuildChat(const ScenarioConfig& config, LoadEngine& engine) {
  Built built;
  for (int i = 0; i < config.pairs; ++i) {
    const std::string a = absl::StrCat(config.run_id, "-p", i, "a");
    const std::string b = absl::StrCat(config.run_id, "-p", i, "b");
    const uint32_t ua = engine.AddUser(a), ub = engine.AddUser(b);
    const uint32_t channel = engine.AddChannel();
    engine.AddView(ua, channel, im::client::PersonChannel(b), true, true);
    engine.AddView(ub, channel, im::client::PersonChannel(a), true, true);
    built.users.insert(built.users.end(), {ua, ub});
    built.uids.insert(built.uids.end(), {a, b});
  }
  built.shape = {{"pairs", config.pairs},
                 {"connections", 2 * config.pairs},
                 {"sending_channels", 2 * config.pairs}};
  return built;
}

absl::StatusOr<Built> BuildGroups(const ScenarioConfig& config, LoadEngine& engine) {
  Built built;
  const int online = std::clamp(
      static_cast<int>(std::lround(config.group_size * config.online_share)), 1, config.group_size);
  const int senders = std::clamp(config.senders_per_group, 1, online);
  for (int g = 0; g < config.groups; ++g) {
    const std::string group_id = absl::StrCat(config.run_id, "-g", g);
    std::vector<std::string> members;
    for (int m = 0; m < config.group_size; ++m) {
      members.push_back(absl::StrCat(config.run_id, "-g", g, "m", m));
    }
    if (absl::Status s = CreateGroup(config.message_grpc, group_id, members); !s.ok()) return s;
    const uint32_t channel = engine.AddChannel();
    for (int m = 0; m < online; ++m) {
      const uint32_t user = engine.AddUser(members[m]);
      engine.AddView(user, channel, im::client::GroupChannel(group_id), m < senders, true);
      built.users.push_back(user);
      built.uids.push_back(members[m]);
    }
  }
  built.shape = {{"groups", config.groups},
                 {"group_size", config.group_size},
                 {"online_per_group", online},
                 {"senders_per_group", senders},
                 {"connections", config.groups * online},
                 {"recipients_per_message", online - 1}};
  return built;
}

json VerifyJson(const VerifyResult& v) {
  return {{"ok", v.ok()},
          {"expected", v.expected},
          {"delivered", v.delivered},
          {"lost", v.lost},
          {"duplicates", v.duplicates},
          {"reordered", v.reordered},
          {"unexpected", v.unexpected},
          {"unacked_delivered", v.unacked_delivered},
          {"samples", v.samples}};
}

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int64_t OwnFileLimit() {
  rlimit limit{};
  return getrlimit(RLIMIT_NOFILE, &limit) == 0 ? static_cast<int64_t>(limit.rlim_cur) : 1024;
}

}  // namespace

absl::StatusOr<json> RunScenario(const ScenarioConfig& input) {
  ScenarioConfig config = input;
  if (config.name.empty()) config.name = config.scenario;
  if (config.run_id.empty()) {
    config.run_id =
        absl::StrCat("ld", absl::ToUnixMillis(absl::Now()) % 100000000, "-", config.name);
  }
  const bool idle = config.scenario == "idle";
  const bool reconnect = config.scenario == "reconnect";
  const std::string workload = reconnect ? config.reconnect_workload : config.scenario;
  if (!idle && workload != "chat" && workload != "group") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown scenario '", config.scenario,
                     "' (chat, group, idle, reconnect; reconnect runs "
                     "--reconnect_workload chat or group)"));
  }
  RaiseFileLimit();
  absl::StatusOr<std::vector<WatchedProcess>> procs = WatchedProcesses(config);
  if (!procs.ok()) return procs.status();
  ProcWatch watch(*procs);

  json result = {
      {"name", config.name},
      {"scenario", config.scenario},
      {"run_id", config.run_id},
      {"started_at", absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone())}};
  json notes = json::array();

  if (idle) {
    // Both ends need a descriptor per connection: this process and the gateway.
    int64_t cap = OwnFileLimit() - kSpareFds;
    std::string limited_by = absl::StrCat("this process's RLIMIT_NOFILE (", OwnFileLimit(), ")");
    if (const int gw = watch.PidOf("gateway"); gw > 0) {
      if (absl::StatusOr<int64_t> gl = OpenFileLimit(gw); gl.ok() && *gl - kSpareFds <= cap) {
        limited_by = *gl - kSpareFds == cap
                         ? absl::StrCat("RLIMIT_NOFILE (", *gl, " in this process and the gateway)")
                         : absl::StrCat("the gateway's RLIMIT_NOFILE (", *gl, ")");
        cap = *gl - kSpareFds;
      }
    }
    if (config.connections > cap) {
      notes.push_back(absl::StrCat(config.connections, " connections asked, ", cap,
                                   " opened: limited by ", limited_by,
                                   "; the hard limit cannot be raised without CAP_SYS_RESOURCE"));
      config.connections = static_cast<int>(cap);
    }
    config.engine.source_addrs =
        std::max(config.engine.source_addrs,
                 (config.connections + kConnectionsPerSource - 1) / kConnectionsPerSource);
    config.engine.ping_interval = std::min(config.engine.ping_interval,
                                           absl::Seconds(std::max(1.0, config.hold_seconds / 3)));
  }

  LoadEngine engine(config.engine);
  Built built;
  if (idle) {
    for (int i = 0; i < config.connections; ++i) {
      const std::string uid = absl::StrCat(config.run_id, "-i", i);
      built.users.push_back(engine.AddUser(uid));
      built.uids.push_back(uid);
    }
    built.shape = {{"connections", config.connections}};
  } else if (workload == "chat") {
    built = BuildChat(config, engine);
  } else {
    absl::StatusOr<Built> groups = BuildGroups(config, engine);
    if (!groups.ok()) return groups.status();
    built = std::move(*groups);
  }
  if (absl::Status s = SetTokens(config.gateway_grpc, built.uids, config.engine.token, 8);
      !s.ok()) {
    return s;
  }

  Progress progress(config, engine);
  const int gateway_pid = watch.PidOf("gateway");
  int64_t gateway_rss_before = 0;
  if (gateway_pid > 0) {
    if (absl::StatusOr<int64_t> rss = ResidentBytes(gateway_pid); rss.ok()) {
      gateway_rss_before = *rss;
    }
  }
  const absl::Time connect_start = absl::Now();
  const int64_t connected = engine.Connect(built.users, config.connect_concurrency,
                                           absl::Seconds(config.connect_timeout_seconds));
  const double connect_seconds = absl::ToDoubleSeconds(absl::Now() - connect_start);
  progress.Print("connected");
  result["shape"] = built.shape;
  result["connect"] = {{"asked", built.users.size()},
                       {"connected", connected},
                       {"seconds", connect_seconds},
                       {"per_s", connect_seconds > 0 ? connected / connect_seconds : 0},
                       {"latency_ms", LatencyJson(engine.histograms().connect)}};

  json measured;
  if (idle) {
    watch.Start();
    RunFor(absl::Now() + absl::Seconds(config.hold_seconds), "hold", progress, watch);
    const Counters& c = engine.counters();
    int64_t gateway_rss_after = 0;
    if (gateway_pid > 0) {
      if (absl::StatusOr<int64_t> rss = ResidentBytes(gateway_pid); rss.ok()) {
        gateway_rss_after = *rss;
      }
    }
    result["processes"] = watch.Stop();
    const int64_t online = c.online.load();
    const bool ok = connected == static_cast<int64_t>(built.users.size()) && online == connected &&
                    c.closed_unexpectedly.load() == 0 && c.pongs.load() > 0;
    result["idle"] = {
        {"connections", online},
        {"hold_seconds", config.hold_seconds},
        {"pings", c.pings.load()},
        {"pongs", c.pongs.load()},
        {"gateway_rss_mb_before", gateway_rss_before / 1048576.0},
        {"gateway_rss_mb_after", gateway_rss_after / 1048576.0},
        {"gateway_bytes_per_connection",
         online > 0 ? static_cast<double>(gateway_rss_after - gateway_rss_before) / online : 0},
        {"source_addrs", config.engine.source_addrs}};
    result["verify"] = {{"ok", ok},
                        {"check", "every connection opened, answered pings and stayed open"},
                        {"closed_unexpectedly", c.closed_unexpectedly.load()},
                        {"samples", engine.CloseSamples()}};
    engine.Shutdown();
  } else {
    watch.Start();
    const absl::Time send_start = absl::Now();
    engine.StartSending(config.rate, absl::Seconds(config.seconds), config.max_messages);
    const absl::Time send_end = send_start + absl::Seconds(config.seconds);
    int storms_done = 0;
    int64_t dropped = 0;
    std::function<void()> storm;
    if (reconnect) {
      storm = [&] {
        const double elapsed = absl::ToDoubleSeconds(absl::Now() - send_start);
        const double next_at = config.seconds * (storms_done + 1) / (config.storms + 1);
        if (storms_done >= config.storms || elapsed < next_at) return;
        // A different slice of the users each time.
        const size_t n = std::max<size_t>(
            1, static_cast<size_t>(std::lround(built.users.size() * config.reconnect_share)));
        std::vector<uint32_t> victims;
        for (size_t i = 0; i < n; ++i) {
          victims.push_back(built.users[(storms_done * n + i) % built.users.size()]);
        }
        engine.DropAndReconnect(victims);
        dropped += static_cast<int64_t>(victims.size());
        ++storms_done;
      };
    }
    RunFor(send_end, "send", progress, watch, storm);
    engine.StopSending();
    const Counters& c = engine.counters();
    const int64_t acked_in_window = c.acked.load();
    const int64_t delivered_in_window = c.delivered.load();
    const double window_seconds = absl::ToDoubleSeconds(absl::Now() - send_start);
    result["processes"] = watch.Stop();

    const absl::Time drain_end = absl::Now() + absl::Seconds(config.drain_seconds);
    while (absl::Now() < drain_end && !engine.WaitAcked(absl::Seconds(1))) progress.Print("drain");
    if (reconnect) {
      while (absl::Now() < drain_end && !engine.WaitCaughtUp(dropped, absl::Seconds(1))) {
        progress.Print("drain");
      }
    }
    engine.WaitDelivered(absl::Seconds(2), std::max(absl::ZeroDuration(), drain_end - absl::Now()));
    progress.Print("done");
    const double total_seconds = absl::ToDoubleSeconds(absl::Now() - send_start);
    engine.Shutdown();

    DeliveryVerifier verifier;
    engine.FeedVerifier(verifier);
    const VerifyResult verdict = verifier.Check();
    result["verify"] = VerifyJson(verdict);
    result["verify"]["closed_unexpectedly"] = c.closed_unexpectedly.load();
    result["verify"]["connect_failed"] = c.connect_failed.load();
    for (const std::string& sample : engine.CloseSamples()) {
      result["verify"]["samples"].push_back(sample);
    }
    if (connected != static_cast<int64_t>(built.users.size())) result["verify"]["ok"] = false;
    result["counts"] = {{"sent", c.sent.load()},
                        {"acked", c.acked.load()},
                        {"send_failed", c.send_failed.load()},
                        {"unacked_at_end", engine.InFlight()},
                        {"delivered_live", c.delivered.load()},
                        {"delivered_by_sync", c.catchup_delivered.load()},
                        {"expected_deliveries", verdict.expected}};
    result["throughput"] = {{"send_seconds", window_seconds},
                            {"acked_per_s", acked_in_window / window_seconds},
                            {"delivered_per_s", delivered_in_window / window_seconds},
                            {"offered_rate", config.rate},
                            {"drain_seconds", total_seconds - window_seconds}};
    result["latency_ms"] = {{"send_ack", LatencyJson(engine.histograms().send_ack)},
                            {"send_recv", LatencyJson(engine.histograms().send_recv)}};
    if (reconnect) {
      result["reconnect"] = {{"storms", storms_done},
                             {"dropped", dropped},
                             {"caught_up", c.catchups_done.load()},
                             {"catchup_failed", c.catchups_failed.load()},
                             {"resent", c.resent.load()},
                             {"delivered_by_sync", c.catchup_delivered.load()},
                             {"push_sync_overlap_dropped", c.overlap_dropped.load()},
                             {"catchup_ms", LatencyJson(engine.histograms().catchup)}};
      if (c.catchups_done.load() < dropped) result["verify"]["ok"] = false;
    }
  }
  progress.End();
  result["config"] = {{"seconds", config.seconds},
                      {"drain_seconds", config.drain_seconds},
                      {"rate", config.rate},
                      {"window", config.engine.window},
                      {"payload_bytes", config.engine.payload_bytes},
                      {"frames", config.engine.encoding == Encoding::kJson ? "json" : "binary"},
                      {"recvack", config.engine.recvack},
                      {"io_threads", config.engine.io_threads},
                      {"max_messages", config.max_messages},
                      {"reconnect_share", config.reconnect_share},
                      {"storms", config.storms},
                      {"hold_seconds", config.hold_seconds}};
  result["timeline"] = progress.timeline();
  result["notes"] = notes;
  return result;
}

std::string ScenarioMarkdown(const json& r) {
  std::string md =
      absl::StrCat("### ", r.value("name", ""), " (", r.value("scenario", ""), ")\n\n");
  const json& v = r["verify"];
  absl::StrAppend(&md, "- shape: `", r["shape"].dump(), "`\n");
  absl::StrAppend(&md, "- connections: ", r["connect"]["connected"].dump(), " of ",
                  r["connect"]["asked"].dump(),
                  absl::StrFormat(" in %.1f s", r["connect"]["seconds"].get<double>()), "\n");
  absl::StrAppend(&md, "- verification: **", v["ok"].get<bool>() ? "PASS" : "FAIL", "**");
  if (v.contains("lost")) {
    absl::StrAppend(&md, " (expected ", v["expected"].dump(), ", delivered ", v["delivered"].dump(),
                    ", lost ", v["lost"].dump(), ", duplicates ", v["duplicates"].dump(),
                    ", reordered ", v["reordered"].dump(), ", unexpected ", v["unexpected"].dump(),
                    ")");
  } else {
    absl::StrAppend(&md, " (", v.value("check", ""), ")");
  }
  absl::StrAppend(&md, "\n");
  for (const auto& sample : v["samples"])
    absl::StrAppend(&md, "  - `", sample.get<std::string>(), "`\n");
  if (r.contains("counts")) {
    const json& c = r["counts"];
    const json& t = r["throughput"];
    absl::StrAppend(&md, "- sent ", c["sent"].dump(), ", acked ", c["acked"].dump(), ", failed ",
                    c["send_failed"].dump(), ", delivered live ", c["delivered_live"].dump(),
                    ", by sync ", c["delivered_by_sync"].dump(), "\n");
    absl::StrAppend(
        &md, absl::StrFormat(
                 "- throughput over %.1f s of sending: **%.0f acked msg/s**, "
                 "**%.0f deliveries/s**%s\n",
                 t["send_seconds"].get<double>(), t["acked_per_s"].get<double>(),
                 t["delivered_per_s"].get<double>(),
                 t["offered_rate"].get<double>() > 0
                     ? absl::StrFormat(" (offered %.0f msg/s)", t["offered_rate"].get<double>())
                     : " (closed loop)"));
    absl::StrAppend(&md,
                    "\n| latency (ms) | p50 | p90 | p99 | p99.9 | max | samples |\n"
                    "|---|---|---|---|---|---|---|\n");
    for (const char* kind : {"send_ack", "send_recv"}) {
      const json& l = r["latency_ms"][kind];
      absl::StrAppend(
          &md, absl::StrFormat(
                   "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %d |\n",
                   std::string(kind == std::string("send_ack") ? "send->ack" : "send->receive"),
                   l["p50"].get<double>(), l["p90"].get<double>(), l["p99"].get<double>(),
                   l["p999"].get<double>(), l["max"].get<double>(), l["count"].get<int64_t>()));
    }
  }
  if (r.contains("reconnect")) {
    const json& rc = r["reconnect"];
    absl::StrAppend(&md, "\n- reconnect: ", rc["storms"].dump(), " storms, ", rc["dropped"].dump(),
                    " connections reset, ", rc["caught_up"].dump(), " caught up (",
                    rc["catchup_failed"].dump(), " failed), ", rc["resent"].dump(),
                    " SENDs resent, ", rc["delivered_by_sync"].dump(), " messages by sync, ",
                    rc["push_sync_overlap_dropped"].dump(),
                    absl::StrFormat(" pushes inside a synced range dropped; reconnect to caught "
                                    "up p50 %.1f ms, p99 %.1f ms\n",
                                    rc["catchup_ms"]["p50"].get<double>(),
                                    rc["catchup_ms"]["p99"].get<double>()));
  }
  if (r.contains("idle")) {
    const json& i = r["idle"];
    absl::StrAppend(
        &md, absl::StrFormat("- idle: %d connections held %.0f s (%d pings, %d pongs); gateway RSS "
                             "%.1f -> %.1f MiB = **%.0f bytes per connection**\n",
                             i["connections"].get<int64_t>(), i["hold_seconds"].get<double>(),
                             i["pings"].get<int64_t>(), i["pongs"].get<int64_t>(),
                             i["gateway_rss_mb_before"].get<double>(),
                             i["gateway_rss_mb_after"].get<double>(),
                             i["gateway_bytes_per_connection"].get<double>()));
  }
  for (const auto& note : r["notes"])
    absl::StrAppend(&md, "- note: ", note.get<std::string>(), "\n");
  absl::StrAppend(&md,
                  "\n| process | CPU s | CPU % of a core | RSS MiB end | RSS MiB max |\n"
                  "|---|---|---|---|---|\n");
  for (const auto& [name, p] : r["processes"].items()) {
    absl::StrAppend(&md,
                    absl::StrFormat("| %s | %.1f | %.0f | %.1f | %.1f |\n", name,
                                    p["cpu_seconds"].get<double>(), p["cpu_percent"].get<double>(),
                                    p["rss_mb_end"].get<double>(), p["rss_mb_max"].get<double>()));
  }
  return md + "\n";
}

}  // namespace im::load
