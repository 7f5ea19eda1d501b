// The retention of the cmd inboxes: every `interval`, deletes the inbox entries (and then the cmd
// messages) older than `retention`, and forgets devices not seen for as long. Every replica may
// run one; they skip each other's rows.
//
//   CmdSweeper sweeper(&cmd_store, {.retention = absl::Hours(168)});
//   sweeper.Start();
//   absl::StatusOr<CmdSweep> swept = sweeper.SweepOnce(absl::Now());  // tests
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/periodic_thread.h"
#include "services/message/cmd_store.h"

namespace im::message {

class CmdSweeper {
 public:
  struct Options {
    absl::Duration retention = absl::Hours(7 * 24);
    absl::Duration interval = absl::Minutes(1);
    // Most cmds (and devices) deleted per transaction.
    size_t chunk = 1000;
  };

  // Destruction stops the thread after its current sweep.
  CmdSweeper(CmdStore* store, Options options) : store_(store), options_(options) {}

  // Sweeps every `interval` on its own thread, failures logged. Call once.
  void Start();

  // One sweep on the calling thread as of `now`: cmds created and devices last seen before
  // now - retention. Cmds still being expanded wait for the sweep after their expansion.
  absl::StatusOr<CmdSweep> SweepOnce(absl::Time now);

 private:
  void SweepAndLog();

  CmdStore* store_;
  const Options options_;
  // Last, so it stops before the rest goes.
  std::optional<PeriodicThread> thread_;
};

}  // namespace im::message
