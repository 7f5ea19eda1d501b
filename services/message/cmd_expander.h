// Fills the cmd inboxes after the send is acked (seed 004): the send transaction stores a cmd with
// its explicit recipient list, or for a group's subscribers no list at all, so a cmd to a
// 10000-member group acks as fast as one to two uids; this class then reads the recipients (a
// group's subscribers page by page in uid order) and gives each recipient its inbox entry, in
// rounds of at most `batch` recipients, and pushes each round's entries through the one fan-out
// path (CMD frames with each recipient's cmd_seq).
//
// Each round is one transaction (CmdStore::Expand), so a crash or a failed round leaves a cmd
// exactly as far expanded as its last commit, and several replicas share the pending cmds without
// taking one twice. Rounds run on the expander's own thread, woken by the send lanes after they
// acked a batch with cmds, and at least every `poll` (cmds left by a crash or another replica).
//
//   CmdExpander expander(&cmd_store, &fanout, {.batch = 2000}, registry);
//   expander.Start();
//   expander.Wake();                               // after a send batch stored cmds
//   absl::StatusOr<CmdExpander::Round> n = expander.RunRound();  // tests: one round here
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/message/cmd_store.h"
#include "services/message/fanout.h"

namespace im::message {

class CmdExpander {
 public:
  struct Options {
    // Most recipients given inbox entries per round (one transaction).
    size_t batch = 2000;
    // Most pending cmds claimed per round.
    size_t max_cmds = 256;
    // Longest wait between looks for pending cmds when nothing wakes the expander.
    absl::Duration poll = absl::Seconds(1);
  };

  // What one round did.
  struct Round {
    // Pending cmds it claimed (0: nothing pending that another round does not hold). A cmd whose
    // group was deleted or has no subscribers left is finished without recipients.
    size_t cmds = 0;
    // Recipients that got an entry.
    size_t recipients = 0;
  };

  // Counters are registered in `registry`. Nothing runs until Start().
  CmdExpander(CmdStore* store, Fanout* fanout, Options options, prometheus::Registry& registry);
  // Stops the thread after its current round.
  ~CmdExpander();
  CmdExpander(const CmdExpander&) = delete;
  CmdExpander& operator=(const CmdExpander&) = delete;

  // Starts the thread, which runs rounds until one finds nothing to do, then waits for Wake() or
  // the poll interval. Call once.
  void Start();
  // Makes the thread look for pending cmds now; never blocks.
  void Wake();

  // One round on the calling thread: expands and commits, then queues the pushes to the online
  // recipients of this round. On a Postgres failure nothing was expanded.
  absl::StatusOr<Round> RunRound();

 private:
  void Loop();

  CmdStore* store_;
  Fanout* fanout_;
  const Options options_;
  prometheus::Counter& expanded_;
  prometheus::Counter& failures_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace im::message
