#include "services/gateway/presence_keeper.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/reason_codes.h"

namespace im::gateway {
namespace {

// Registrations per Redis pipeline during a refresh, so one round trip stays small.
constexpr size_t kRefreshBatch = 1000;

void LogFailure(const char* what, const absl::Status& status) {
  if (!status.ok()) {
    log::Warning("presence_write_failed", {{"op", what}, {"error", std::string(status.message())}});
  }
}

}  // namespace

PresenceKeeper::PresenceKeeper(PresenceStore* presence, WorkerPool* workers, SessionHub* hub,
                               std::string gateway)
    : presence_(presence), workers_(workers), hub_(hub), gateway_(std::move(gateway)) {}

PresenceKeeper::~PresenceKeeper() { Stop(); }

void PresenceKeeper::Start() {
  refresher_ = std::thread([this] { RefreshLoop(); });
}

void PresenceKeeper::Stop() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  cv_.wait(lock, [this] { return !flush_scheduled_; });
  lock.unlock();
  if (refresher_.joinable()) refresher_.join();
}

PresenceEntry PresenceKeeper::EntryFor(const ConnectionInfo& info) const {
  PresenceEntry entry;
  entry.uid = info.uid;
  entry.device_id = info.device_id;
  entry.device_flag = info.device_flag;
  entry.gateway = gateway_;
  entry.connected_at_ms = info.connected_at_ms;
  return entry;
}

void PresenceKeeper::Register(std::shared_ptr<Connection> conn,
                              std::function<void(absl::Status)> written) {
  PresenceEntry entry = EntryFor(conn->info());
  Enqueue({.add = true,
           .entry = std::move(entry),
           .written = std::move(written),
           .conn = std::move(conn)});
}

void PresenceKeeper::Unregister(const std::string& uid, const std::string& device_id) {
  PresenceEntry entry;
  entry.uid = uid;
  entry.device_id = device_id;
  Enqueue({.add = false, .entry = std::move(entry), .written = nullptr, .conn = nullptr});
}

void PresenceKeeper::Enqueue(Op op) {
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      refused = WithReason(absl::UnavailableError("the gateway is shutting down"),
                           im::common::v1::REASON_CODE_SERVER_SHUTDOWN);
    } else {
      pending_.push_back(std::move(op));
      // A full pool leaves an op without a waiter queued for the next refresh tick; one with a
      // waiter (a CONNECT) is refused now rather than kept waiting that long.
      if (ScheduleLocked() || !pending_.back().written) return;
      op = std::move(pending_.back());
      pending_.pop_back();
      refused = absl::UnavailableError("the gateway is busy; retry later");
    }
  }
  if (op.written) op.written(std::move(refused));
}

bool PresenceKeeper::ScheduleLocked() {
  if (flush_scheduled_) return true;
  if (stopping_) return false;
  flush_scheduled_ = workers_->TrySubmit([this] { Flush(); });
  return flush_scheduled_;
}

void PresenceKeeper::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!pending_.empty() || refresh_due_) {
    std::vector<Op> ops = std::exchange(pending_, {});
    const bool refresh = std::exchange(refresh_due_, false);
    lock.unlock();

    // A connection removed from the hub queued its removal after leaving it, so checking here,
    // after taking the batch, never misses one: either the add is dropped now, or the removal
    // comes in a later round and undoes it.
    std::vector<bool> gone(ops.size(), false);
    for (size_t i = 0; i < ops.size(); ++i) {
      gone[i] = ops[i].add && !hub_->Contains(*ops[i].conn);
    }
    // The last op per device wins, so a close followed by a reconnect leaves it registered.
    std::map<std::pair<std::string, std::string>, const Op*> last;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (!gone[i]) last[{ops[i].entry.uid, ops[i].entry.device_id}] = &ops[i];
    }
    std::vector<PresenceEntry> adds;
    std::vector<std::pair<std::string, std::string>> removes;
    for (const auto& [key, op] : last) {
      if (op->add) {
        adds.push_back(op->entry);
      } else {
        removes.push_back(key);
      }
    }
    LogFailure("register", presence_->Register(adds));
    LogFailure("unregister", presence_->Unregister(gateway_, removes));
    // A failed write (logged above) still lets the connection in: the next refresh retries it.
    for (size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].add && !gone[i]) ops[i].conn->MarkInPresence();
      if (!ops[i].written) continue;
      ops[i].written(
          gone[i] ? absl::FailedPreconditionError("the connection closed before it was registered")
                  : absl::OkStatus());
    }
    // The snapshot is taken after the ops above were applied: a connection closing from now on
    // queues its removal for the next round, after this refresh.
    if (refresh) {
      std::vector<PresenceEntry> batch;
      for (const std::shared_ptr<Connection>& conn : hub_->All()) {
        if (!conn->in_presence()) continue;
        batch.push_back(EntryFor(conn->info()));
        if (batch.size() == kRefreshBatch) {
          LogFailure("refresh", presence_->Register(batch));
          batch.clear();
        }
      }
      LogFailure("refresh", presence_->Register(batch));
    }
    lock.lock();
  }
  flush_scheduled_ = false;
  cv_.notify_all();
}

void PresenceKeeper::RefreshLoop() {
  const absl::Duration period = presence_->ttl() / 3;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, absl::ToChronoNanoseconds(period), [this] { return stopping_; });
    if (stopping_) return;
    refresh_due_ = true;
    ScheduleLocked();
  }
}

absl::Status PresenceKeeper::UnregisterAll() {
  std::vector<std::pair<std::string, std::string>> devices;
  for (const std::shared_ptr<Connection>& conn : hub_->All()) {
    devices.emplace_back(conn->info().uid, conn->info().device_id);
  }
  return presence_->Unregister(gateway_, devices);
}

}  // namespace im::gateway
