// Keeps this gateway's presence entries (services/gateway/public/presence_store.h) in step with its
// connections without ever blocking an I/O thread: registrations and removals are queued, coalesced
// per device and written in batches by one task at a time on the worker pool, so they reach Redis
// in the order they happened. Every ttl/3 the whole SessionHub is re-registered, so entries of live
// connections never expire while those of a crashed gateway do.
//
//   PresenceKeeper keeper(&presence, &workers, &hub, "10.0.0.7:7002");
//   keeper.Start();
//   keeper.Register(conn, [](absl::Status s) { /* CONNACK, or refuse if !s.ok() */ });
//   keeper.Unregister(uid, device);  // after close
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/worker_pool.h"
#include "services/gateway/connection.h"
#include "services/gateway/public/presence_store.h"
#include "services/gateway/session_hub.h"

namespace im::gateway {

class PresenceKeeper {
 public:
  // `gateway` is this gateway's advertised gRPC address.
  PresenceKeeper(PresenceStore* presence, WorkerPool* workers, SessionHub* hub,
                 std::string gateway);
  ~PresenceKeeper();

  // Starts the refresh thread.
  void Start();
  // Stops the refresh thread and waits for a running write to finish. Idempotent.
  void Stop();

  // `written` runs once the entry's write was attempted (on a worker thread), so the caller can
  // send CONNACK only when deliveries can find the device. It gets OK even if Redis failed: that
  // is logged and retried by the next refresh, and the device syncs what it misses meanwhile. It
  // gets UNAVAILABLE at once, on the calling thread, when the worker pool is full (the write would
  // wait for the next refresh tick), or SERVER_SHUTDOWN (WithReason) once stopping; nothing is
  // written then and the caller should refuse the connection.
  // A connection that has left the hub by the time the write would happen (closed, or replaced by
  // a newer one) is not written, since nothing would remove its entry: `written` gets
  // FAILED_PRECONDITION.
  void Register(std::shared_ptr<Connection> conn, std::function<void(absl::Status)> written);
  void Unregister(const std::string& uid, const std::string& device_id);

  // Removes the entries of every connection in the hub now (shutdown); blocks on Redis.
  absl::Status UnregisterAll();

 private:
  struct Op {
    bool add;
    PresenceEntry entry;
    std::function<void(absl::Status)> written;
    // Adds only: the connection, to check it is still in the hub and to mark it in presence.
    std::shared_ptr<Connection> conn;
  };

  void Enqueue(Op op);
  // With mu_ held: makes sure one flush task is queued or running; false if none could be queued.
  bool ScheduleLocked();
  void Flush();
  void RefreshLoop();
  PresenceEntry EntryFor(const ConnectionInfo& info) const;

  PresenceStore* presence_;
  WorkerPool* workers_;
  SessionHub* hub_;
  const std::string gateway_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Op> pending_;
  bool flush_scheduled_ = false;
  bool refresh_due_ = false;
  bool stopping_ = false;
  std::thread refresher_;
};

}  // namespace im::gateway
