#include "services/message/cmd_expander.h"

#include <string>
#include <utility>
#include <vector>

#include "common/log.h"
#include "services/message/message_view.h"

namespace im::message {

CmdExpander::CmdExpander(CmdStore* store, Fanout* fanout, Options options,
                         prometheus::Registry& registry)
    : store_(store),
      fanout_(fanout),
      options_(options),
      expanded_(prometheus::BuildCounter()
                    .Name("im_message_cmd_inbox_entries_total")
                    .Help("Cmd inbox entries written by the cmd expander.")
                    .Register(registry)
                    .Add({})),
      failures_(prometheus::BuildCounter()
                    .Name("im_message_cmd_expand_failures_total")
                    .Help("Cmd expansion rounds that failed (retried on the next wake or poll).")
                    .Register(registry)
                    .Add({})) {}

CmdExpander::~CmdExpander() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CmdExpander::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void CmdExpander::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

absl::StatusOr<CmdExpander::Round> CmdExpander::RunRound() {
  absl::StatusOr<ExpansionRound> round = store_->Expand(options_.max_cmds, options_.batch);
  if (!round.ok()) {
    failures_.Increment();
    return round.status();
  }
  expanded_.Increment(static_cast<double>(round->recipients));
  std::vector<FanoutItem> pushes;
  pushes.reserve(round->cmds.size());
  for (ExpandedCmd& expanded : round->cmds) {
    if (expanded.uids.empty()) continue;
    FanoutItem& push = pushes.emplace_back();
    push.channel_key = expanded.cmd.channel_key;
    push.explicit_uids = true;
    push.uids = std::move(expanded.uids);
    push.cmd_seqs = std::move(expanded.cmd_seqs);
    // As the sender addressed it: the gateway presents it to each recipient.
    *push.item.mutable_message() = CmdToMessage(expanded.cmd, expanded.cmd.from_uid);
    if (!expanded.cmd.from_device_id.empty()) {
      push.item.mutable_exclude_device()->set_uid(expanded.cmd.from_uid);
      push.item.mutable_exclude_device()->set_device_id(expanded.cmd.from_device_id);
    }
  }
  fanout_->EnqueueByChannel(std::move(pushes));
  return Round{.cmds = round->cmds.size(), .recipients = round->recipients};
}

void CmdExpander::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll),
                 [this] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
    lock.unlock();
    for (;;) {
      absl::StatusOr<Round> round = RunRound();
      if (!round.ok()) {
        log::Warning("cmd_expand_failed", {{"error", std::string(round.status().message())}});
        break;
      }
      if (round->cmds == 0) break;
      std::lock_guard<std::mutex> check(mu_);
      if (stopping_) return;
    }
    lock.lock();
  }
}

}  // namespace im::message
