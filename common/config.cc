#include "common/config.h"

#include <signal.h>

#include <cstdlib>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

ABSL_FLAG(std::string, listen_host, "127.0.0.1",
          "Address the gRPC and metrics servers bind to; 0.0.0.0 in a container.");
ABSL_FLAG(int, grpc_port, 0, "gRPC port; 0 picks a free one (logged at start).");
ABSL_FLAG(int, metrics_port, 0, "Prometheus /metrics HTTP port; 0 picks a free one.");
ABSL_FLAG(std::string, postgres_dsn, "",
          "libpq connection string or URI, e.g. postgresql://user@127.0.0.1:5432/im. Required.");
ABSL_FLAG(int, postgres_pool_size, 8, "Most Postgres connections this process opens.");
ABSL_FLAG(std::string, redis_addr, "", "Redis host:port. Required.");
ABSL_FLAG(int, redis_pool_size, 8, "Most Redis connections this process opens.");
ABSL_FLAG(int, worker_threads, 8,
          "Threads that run blocking Postgres/Redis work for RPCs, off the gRPC threads.");
ABSL_FLAG(int, worker_queue, 10000,
          "Most RPCs waiting for a worker; beyond it RPCs fail fast with RESOURCE_EXHAUSTED.");
ABSL_FLAG(absl::Duration, health_interval, absl::Seconds(1),
          "How often Postgres and Redis are probed for the gRPC health status.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "On SIGTERM, how long in-flight RPCs may take before they are cancelled.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");
ABSL_FLAG(bool, migrate_only, false, "Apply this service's database migrations and exit.");
ABSL_FLAG(bool, auto_migrate, true,
          "Apply migrations at start-up; turn off where a separate job (Helm hook) migrates.");

namespace im {
namespace {

// The service a start-up refusal names; set by InitProcess.
std::string& ProcessName() {
  static std::string* name = new std::string("im");
  return *name;
}

std::string EnvironmentName(absl::string_view flag) {
  return absl::StrCat("IM_", absl::AsciiStrToUpper(flag));
}

absl::Status CheckPort(const char* name, int port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " must be 0..65535, got ", port));
  }
  return absl::OkStatus();
}

absl::Status CheckPositive(const char* name, int value) {
  if (value <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " must be positive, got ", value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyEnvironmentToFlags() {
  for (auto& [name, flag] : absl::GetAllFlags()) {
    const std::string env_name = EnvironmentName(name);
    const char* value = std::getenv(env_name.c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(env_name, "=\"", value, "\": ", error));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CommonConfig> LoadCommonConfig(const std::string& service_name) {
  CommonConfig c;
  c.service_name = service_name;
  c.listen_host = absl::GetFlag(FLAGS_listen_host);
  c.grpc_port = absl::GetFlag(FLAGS_grpc_port);
  c.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  c.postgres_dsn = absl::GetFlag(FLAGS_postgres_dsn);
  c.postgres_pool_size = absl::GetFlag(FLAGS_postgres_pool_size);
  c.redis_addr = absl::GetFlag(FLAGS_redis_addr);
  c.redis_pool_size = absl::GetFlag(FLAGS_redis_pool_size);
  c.worker_threads = absl::GetFlag(FLAGS_worker_threads);
  c.worker_queue = absl::GetFlag(FLAGS_worker_queue);
  c.health_interval = absl::GetFlag(FLAGS_health_interval);
  c.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  c.migrate_only = absl::GetFlag(FLAGS_migrate_only);
  c.auto_migrate = absl::GetFlag(FLAGS_auto_migrate);

  if (c.listen_host.empty()) return absl::InvalidArgumentError("--listen_host must not be empty");
  for (absl::Status s :
       {CheckPort("grpc_port", c.grpc_port), CheckPort("metrics_port", c.metrics_port),
        CheckPositive("postgres_pool_size", c.postgres_pool_size),
        CheckPositive("redis_pool_size", c.redis_pool_size),
        CheckPositive("worker_threads", c.worker_threads),
        CheckPositive("worker_queue", c.worker_queue)}) {
    if (!s.ok()) return s;
  }
  if (c.postgres_dsn.empty()) {
    return absl::InvalidArgumentError("--postgres_dsn (IM_POSTGRES_DSN) is required");
  }
  if (c.redis_addr.empty()) {
    return absl::InvalidArgumentError("--redis_addr (IM_REDIS_ADDR) is required");
  }
  if (c.health_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--health_interval must be positive, got ",
                                                   absl::FormatDuration(c.health_interval)));
  }
  if (c.drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--drain_timeout must not be negative, got ",
                                                   absl::FormatDuration(c.drain_timeout)));
  }
  log::Level level;
  if (!log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log_level must be debug, info, warning or error, got \"",
                     absl::GetFlag(FLAGS_log_level), "\""));
  }
  log::SetMinLevel(level);
  return c;
}

void ExitAtStartup(absl::string_view message) {
  std::cerr << ProcessName() << ": " << message << "\n";
  std::exit(2);
}

namespace config_internal {

void ExitForFlag(const absl::CommandLineFlag& flag, absl::string_view rule) {
  ExitAtStartup(absl::StrCat("--", flag.Name(), " (", EnvironmentName(flag.Name()), ") ", rule,
                             ", got \"", flag.CurrentValue(), "\""));
}

}  // namespace config_internal

CommonConfig InitProcess(int argc, char** argv, const std::string& service_name) {
  ProcessName() = service_name;
  absl::SetProgramUsageMessage(
      absl::StrCat("im ", service_name, " service. Every --flag is also read from IM_FLAG."));
  if (absl::Status env = ApplyEnvironmentToFlags(); !env.ok()) ExitAtStartup(env.message());
  absl::ParseCommandLine(argc, argv);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::StatusOr<CommonConfig> config = LoadCommonConfig(service_name);
  if (!config.ok()) ExitAtStartup(config.status().message());
  return *std::move(config);
}

}  // namespace im
