// Process start-up and the configuration every service shares. Each flag `--foo_bar` can also be
// set by the environment variable `IM_FOO_BAR` (12-factor, so Helm and compose set the same names);
// a command-line flag wins over the environment. Invalid values stop the process with a message
// naming the flag.
//
//   int main(int argc, char** argv) {
//     im::CommonConfig config = im::InitProcess(argc, argv, "sequence");
//     ...
//   }
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace im {

struct CommonConfig {
  std::string service_name;
  std::string listen_host;
  int grpc_port = 0;
  int metrics_port = 0;
  std::string postgres_dsn;
  int postgres_pool_size = 0;
  std::string redis_addr;
  int redis_pool_size = 0;
  int worker_threads = 0;
  int worker_queue = 0;
  absl::Duration health_interval;
  absl::Duration drain_timeout;
  bool migrate_only = false;
  bool auto_migrate = true;
};

// Applies IM_* environment variables to the registered flags, parses the command line, blocks
// SIGTERM/SIGINT in this and every later thread (the server host waits for them on one thread),
// sets the log level, and returns the validated common config. Exits with status 2 on any invalid
// flag or environment value.
CommonConfig InitProcess(int argc, char** argv, const std::string& service_name);

// Validates the common flags as currently set; INVALID_ARGUMENT names the first bad one.
absl::StatusOr<CommonConfig> LoadCommonConfig(const std::string& service_name);

// Sets flags from IM_<FLAG_NAME> environment variables. INVALID_ARGUMENT names a bad value.
absl::Status ApplyEnvironmentToFlags();

}  // namespace im
