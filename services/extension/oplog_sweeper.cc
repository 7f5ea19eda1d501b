#include "services/extension/oplog_sweeper.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace im::extension {

OplogSweeper::OplogSweeper(ExtensionStore* store, Options options)
    : store_(store), options_(options), thread_(options.interval, [this] { SweepAndLog(); }) {}

absl::StatusOr<int64_t> OplogSweeper::SweepOnce() {
  int64_t total = 0;
  while (true) {
    absl::StatusOr<int64_t> deleted = store_->TrimOperations(options_.retention, options_.chunk);
    if (!deleted.ok()) return deleted.status();
    total += *deleted;
    if (*deleted < options_.chunk || thread_.stopping()) return total;
  }
}

void OplogSweeper::SweepAndLog() {
  absl::StatusOr<int64_t> deleted = SweepOnce();
  if (!deleted.ok()) {
    log::Warning("oplog sweep failed", {{"error", std::string(deleted.status().message())}});
  } else if (*deleted > 0) {
    log::Info("oplog swept", {{"deleted", absl::StrCat(*deleted)}});
  }
}

}  // namespace im::extension
