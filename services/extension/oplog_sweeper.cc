#include "services/extension/oplog_sweeper.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace im::extension {

OplogSweeper::OplogSweeper(ExtensionStore* store, Options options)
    : store_(store), options_(options), thread_([this] { Loop(); }) {}

OplogSweeper::~OplogSweeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

absl::StatusOr<int64_t> OplogSweeper::SweepOnce() {
  int64_t total = 0;
  while (true) {
    absl::StatusOr<int64_t> deleted = store_->TrimOperations(options_.retention, options_.chunk);
    if (!deleted.ok()) return deleted.status();
    total += *deleted;
    if (*deleted < options_.chunk) return total;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return total;
  }
}

void OplogSweeper::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.interval),
                       [this] { return stopping_; })) {
    lock.unlock();
    absl::StatusOr<int64_t> deleted = SweepOnce();
    if (!deleted.ok()) {
      log::Warning("oplog sweep failed", {{"error", std::string(deleted.status().message())}});
    } else if (*deleted > 0) {
      log::Info("oplog swept", {{"deleted", absl::StrCat(*deleted)}});
    }
    lock.lock();
  }
}

}  // namespace im::extension
