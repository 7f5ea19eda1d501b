// CPU and memory of the processes a load run exercises, read from /proc: utime + stime (from
// /proc/PID/stat) between two samples, and resident memory (VmRSS from /proc/PID/status). A
// watched process may be a tree (Postgres: the postmaster and its backends), summed.
//
//   std::vector<WatchedProcess> procs = StackProcesses(stack, {"gateway", "message"});
//   ProcSample before = SampleProcesses(procs);  ...  ProcSample after = SampleProcesses(procs);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/bench/stack_env.h"

namespace im::load {

struct WatchedProcess {
  std::string name;  // "gateway", "postgres", ...
  int pid = 0;
  // Also count every descendant (Postgres backends).
  bool with_children = false;
};

struct ProcUsage {
  // utime + stime in seconds, summed over the tree; resident set in bytes (for a tree, the sum of
  // its processes' proportional sets).
  double cpu_seconds = 0;
  int64_t rss_bytes = 0;
  bool alive = false;
};

// By WatchedProcess::name.
using ProcSample = std::map<std::string, ProcUsage>;

ProcSample SampleProcesses(const std::vector<WatchedProcess>& procs);

// One process's resident set in bytes (VmRSS); NOT_FOUND when it is gone.
absl::StatusOr<int64_t> ResidentBytes(int pid);
// One process's proportional set size in bytes (Pss: shared pages divided among their users).
absl::StatusOr<int64_t> ProportionalBytes(int pid);
// The soft RLIMIT_NOFILE of `pid` (its "Max open files"); NOT_FOUND when it is gone.
absl::StatusOr<int64_t> OpenFileLimit(int pid);

// The processes the stack file names: the `services` it has pids for, Postgres (the postmaster,
// with its backends) and Redis. Missing ones are left out.
std::vector<WatchedProcess> StackProcesses(const bench::StackEnv& stack,
                                           const std::vector<std::string>& services);

// Parses "name=pid[+],..." ("+" = with children), for stacks without a stack file.
absl::StatusOr<std::vector<WatchedProcess>> ParseProcessList(const std::string& list);

}  // namespace im::load
