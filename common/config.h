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

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
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

// Stops the process before it serves: "<service>: <message>" on stderr, exit status 2. The one way
// every binary reports a bad flag, a missing peer address or another start-up refusal.
[[noreturn]] void ExitAtStartup(absl::string_view message);

namespace config_internal {
[[noreturn]] void ExitForFlag(const absl::CommandLineFlag& flag, absl::string_view rule);
}  // namespace config_internal

// A service's own flags, read and checked where its main.cc reads them. A failed check stops the
// process (ExitAtStartup) naming the one flag, its environment variable and the refused value:
//
//   const int lanes = PositiveFlag(FLAGS_send_lanes);
//     // message: --send_lanes (IM_SEND_LANES) must be positive, got "0"
//   const int max = FlagAtLeast(FLAGS_sync_limit_max, limit_default, "--sync_limit_default");
//   const std::string sequence = RequiredFlag(FLAGS_sequence_addr);

// The value of `flag` when `valid(value)`; otherwise the process stops saying the flag `rule`.
template <typename T, typename Valid>
T CheckedFlag(const absl::Flag<T>& flag, Valid valid, absl::string_view rule) {
  T value = absl::GetFlag(flag);
  if (!valid(value)) config_internal::ExitForFlag(absl::GetFlagReflectionHandle(flag), rule);
  return value;
}

// Above zero (a number or a duration).
template <typename T>
T PositiveFlag(const absl::Flag<T>& flag) {
  return CheckedFlag(
      flag, [](const T& value) { return value > T(); }, "must be positive");
}

// At least `min`; `min_name` names the flag the bound comes from, if any.
template <typename T>
T FlagAtLeast(const absl::Flag<T>& flag, const T& min, absl::string_view min_name = {}) {
  const std::string bound = min_name.empty()
                                ? absl::UnparseFlag(min)
                                : absl::StrCat(min_name, " (", absl::UnparseFlag(min), ")");
  return CheckedFlag(
      flag, [&min](const T& value) { return !(value < min); },
      absl::StrCat("must be at least ", bound));
}

// Within [lo, hi].
template <typename T>
T FlagInRange(const absl::Flag<T>& flag, const T& lo, const T& hi) {
  return CheckedFlag(
      flag, [&](const T& value) { return !(value < lo) && !(hi < value); },
      absl::StrCat("must be ", absl::UnparseFlag(lo), "..", absl::UnparseFlag(hi)));
}

// Not empty.
inline std::string RequiredFlag(const absl::Flag<std::string>& flag) {
  return CheckedFlag(
      flag, [](const std::string& value) { return !value.empty(); }, "is required");
}

}  // namespace im
