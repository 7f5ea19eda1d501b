// A bounded pool of connections of any kind, shared by the Postgres and Redis pools. Connections
// are opened lazily, at most `size` at once; a lease returns its connection on destruction unless
// the holder marked it broken. An idle connection is probed before it is handed out again, so the
// connections a restarted server closed while they sat idle are replaced, not failed on: a restart
// costs the requests in flight at that moment, not one later request per pooled connection.
//
//   ConnectionPool<Conn> pool(4, absl::Seconds(2), [] { return OpenConn(); },
//                             [](Conn& c) { return IdleSocketIsOpen(c.fd()); });
//   auto lease = pool.Acquire();          // UNAVAILABLE on failure
//   if (!lease.ok()) return lease.status();
//   (*lease)->DoSomething();
//   if (failed) lease->MarkBroken();
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace im {

template <typename Conn>
class ConnectionPool {
 public:
  using Factory = std::function<absl::StatusOr<std::unique_ptr<Conn>>()>;
  // Whether an idle connection may still be used; called under the pool's lock, so it must not
  // block (a poll with no timeout).
  using Probe = std::function<bool(Conn&)>;

  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(std::move(conn_));
    }
    Conn* operator->() const { return conn_.get(); }
    Conn& operator*() const { return *conn_; }
    // The connection is closed instead of returned; the pool opens a new one when next needed.
    void MarkBroken() { conn_.reset(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  ConnectionPool(int size, absl::Duration acquire_timeout, Factory factory, Probe probe = nullptr)
      : size_(size),
        acquire_timeout_(acquire_timeout),
        factory_(std::move(factory)),
        probe_(std::move(probe)) {}

  // An idle connection that passes the probe, or a new one while fewer than `size` are open (idle
  // ones that fail the probe are closed first). Waits up to the acquire timeout for one to come
  // back (then UNAVAILABLE); a failed open returns the factory's error.
  absl::StatusOr<Lease> Acquire() {
    // Declared before the lock so that dead connections are closed after it is released.
    std::vector<std::unique_ptr<Conn>> dead;
    std::unique_lock<std::mutex> lock(mu_);
    const bool got = cv_.wait_for(lock, absl::ToChronoNanoseconds(acquire_timeout_),
                                  [this] { return !idle_.empty() || open_ < size_; });
    if (!got) return absl::UnavailableError("all connections busy; retry later");
    while (!idle_.empty()) {
      std::unique_ptr<Conn> conn = std::move(idle_.back());
      idle_.pop_back();
      if (!probe_ || probe_(*conn)) return Lease(this, std::move(conn));
      dead.push_back(std::move(conn));
      --open_;
    }
    ++open_;
    lock.unlock();
    absl::StatusOr<std::unique_ptr<Conn>> conn = factory_();
    if (!conn.ok()) {
      Release(nullptr);
      return conn.status();
    }
    return Lease(this, *std::move(conn));
  }

 private:
  void Release(std::unique_ptr<Conn> conn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (conn) {
        idle_.push_back(std::move(conn));
      } else {
        --open_;
      }
    }
    cv_.notify_one();
  }

  const int size_;
  const absl::Duration acquire_timeout_;
  const Factory factory_;
  const Probe probe_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
};

}  // namespace im
