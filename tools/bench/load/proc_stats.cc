#include "tools/bench/load/proc_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace im::load {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

struct Stat {
  int ppid = 0;
  double cpu_seconds = 0;
};

// /proc/PID/stat: the command name is in parentheses and may contain spaces, so fields are counted
// from the last ')'.
bool ReadStat(int pid, Stat* stat) {
  const std::string text = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::vector<std::string> fields = absl::StrSplit(text.substr(close + 2), ' ', absl::SkipEmpty());
  // After the name: state(0) ppid(1) ... utime(11) stime(12).
  if (fields.size() < 13) return false;
  int64_t utime = 0, stime = 0;
  if (!absl::SimpleAtoi(fields[1], &stat->ppid) || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return false;
  }
  stat->cpu_seconds = static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
  return true;
}

std::vector<int> AllPids() {
  std::vector<int> pids;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return pids;
  while (dirent* entry = readdir(dir)) {
    int pid = 0;
    if (absl::SimpleAtoi(entry->d_name, &pid)) pids.push_back(pid);
  }
  closedir(dir);
  return pids;
}

}  // namespace

absl::StatusOr<int64_t> ResidentBytes(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "VmRSS:")) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = 0;
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kib)) return kib * 1024;
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS for pid ", pid));
}

absl::StatusOr<int64_t> ProportionalBytes(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/smaps_rollup"));
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "Pss:")) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t kib = 0;
    if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kib)) return kib * 1024;
  }
  return absl::NotFoundError(absl::StrCat("no Pss for pid ", pid));
}

absl::StatusOr<int64_t> OpenFileLimit(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/limits"));
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "Max open files")) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
    int64_t soft = 0;
    if (parts.size() >= 4 && absl::SimpleAtoi(parts[3], &soft)) return soft;
  }
  return absl::NotFoundError(absl::StrCat("no open-file limit for pid ", pid));
}

ProcSample SampleProcesses(const std::vector<WatchedProcess>& procs) {
  // One pass over /proc gives every process's parent, for the trees.
  std::map<int, Stat> stats;
  bool any_tree = false;
  for (const WatchedProcess& proc : procs) any_tree |= proc.with_children;
  if (any_tree) {
    for (int pid : AllPids()) {
      Stat stat;
      if (ReadStat(pid, &stat)) stats[pid] = stat;
    }
  }
  ProcSample sample;
  for (const WatchedProcess& proc : procs) {
    ProcUsage& usage = sample[proc.name];
    std::set<int> tree = {proc.pid};
    if (proc.with_children) {
      // Parents come before children often but not always; repeat until nothing is added.
      for (bool grew = true; grew;) {
        grew = false;
        for (const auto& [pid, stat] : stats) {
          if (tree.count(stat.ppid) > 0 && tree.insert(pid).second) grew = true;
        }
      }
    }
    for (int pid : tree) {
      Stat stat;
      if (!ReadStat(pid, &stat)) continue;
      if (pid == proc.pid) usage.alive = true;
      usage.cpu_seconds += stat.cpu_seconds;
      // A tree's processes share memory (Postgres: shared buffers in every backend), so they
      // count their proportional share; a single process counts its whole resident set.
      absl::StatusOr<int64_t> rss =
          proc.with_children ? ProportionalBytes(pid) : ResidentBytes(pid);
      if (rss.ok()) usage.rss_bytes += *rss;
    }
  }
  return sample;
}

std::vector<WatchedProcess> StackProcesses(const bench::StackEnv& stack,
                                           const std::vector<std::string>& services) {
  std::vector<WatchedProcess> found;
  for (const std::string& service : services) {
    if (const int pid = stack.Pid(service); pid > 0) found.push_back({service, pid, false});
  }
  if (const int pid = stack.Pid("postgres"); pid > 0) found.push_back({"postgres", pid, true});
  if (const int pid = stack.Pid("redis"); pid > 0) found.push_back({"redis", pid, false});
  return found;
}

absl::StatusOr<std::vector<WatchedProcess>> ParseProcessList(const std::string& list) {
  std::vector<WatchedProcess> procs;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, '=');
    WatchedProcess proc;
    proc.name = kv.first;
    absl::string_view pid = kv.second;
    proc.with_children = absl::ConsumeSuffix(&pid, "+");
    if (proc.name.empty() || !absl::SimpleAtoi(pid, &proc.pid) || proc.pid <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad process '", item, "' (name=pid[+])"));
    }
    procs.push_back(proc);
  }
  return procs;
}

}  // namespace im::load
