// CPU and memory of the processes a load run exercises, read from /proc: utime + stime (from
// /proc/PID/stat) between two samples, and resident memory (VmRSS from /proc/PID/status). A
// watched process may be a tree (Postgres: the postmaster and its backends), summed.
//
//   std::vector<WatchedProcess> procs = FindStackProcesses(".local/run");
//   ProcSample before = SampleProcesses(procs);  ...  ProcSample after = SampleProcesses(procs);
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

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

// The processes of a local stack started by scripts/run.sh in `state_dir` (.local/run): the five
// services (children of the run.sh whose build they run), Postgres (its postmaster.pid, with the
// backends) and Redis (redis.pid). Missing ones are left out; `services` names which to look for.
std::vector<WatchedProcess> FindStackProcesses(const std::string& state_dir,
                                               const std::vector<std::string>& services);

// Parses "name=pid[+],..." ("+" = with children), for stacks not started by run.sh.
absl::StatusOr<std::vector<WatchedProcess>> ParseProcessList(const std::string& list);

}  // namespace im::load
