#include "services/message/cmd_sweeper.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace im::message {

void CmdSweeper::Start() {
  thread_.emplace(options_.interval, [this] { SweepAndLog(); });
}

void CmdSweeper::SweepAndLog() {
  absl::StatusOr<CmdSweep> swept = SweepOnce(absl::Now());
  if (!swept.ok()) {
    log::Warning("cmd_sweep_failed", {{"error", std::string(swept.status().message())}});
  } else if (swept->inbox_rows + swept->cmds + swept->devices > 0) {
    log::Info("cmd_swept", {{"inbox_rows", absl::StrCat(swept->inbox_rows)},
                            {"cmds", absl::StrCat(swept->cmds)},
                            {"devices", absl::StrCat(swept->devices)}});
  }
}

absl::StatusOr<CmdSweep> CmdSweeper::SweepOnce(absl::Time now) {
  return store_->Sweep(absl::ToUnixMillis(now - options_.retention), options_.chunk);
}

}  // namespace im::message
