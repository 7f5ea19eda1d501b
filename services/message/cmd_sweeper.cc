#include "services/message/cmd_sweeper.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace im::message {

CmdSweeper::~CmdSweeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CmdSweeper::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, absl::ToChronoMilliseconds(options_.interval),
                         [this] { return stopping_; })) {
      lock.unlock();
      absl::StatusOr<CmdSweep> swept = SweepOnce(absl::Now());
      if (!swept.ok()) {
        log::Warning("cmd_sweep_failed", {{"error", std::string(swept.status().message())}});
      } else if (swept->inbox_rows + swept->cmds + swept->devices > 0) {
        log::Info("cmd_swept", {{"inbox_rows", absl::StrCat(swept->inbox_rows)},
                                {"cmds", absl::StrCat(swept->cmds)},
                                {"devices", absl::StrCat(swept->devices)}});
      }
      lock.lock();
    }
  });
}

absl::StatusOr<CmdSweep> CmdSweeper::SweepOnce(absl::Time now) {
  return store_->Sweep(absl::ToUnixMillis(now - options_.retention), options_.chunk);
}

}  // namespace im::message
