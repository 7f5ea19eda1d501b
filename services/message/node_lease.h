// The 10-bit node id of a message-service process, leased from Postgres so that no two live
// processes share one (which would let them mint the same message id). A background thread renews
// the lease; when renewal keeps failing until the lease may have expired, the process stops
// minting ids (valid() turns false) rather than risk sharing its node id, and resumes once a
// renewal finds the id still its own (nobody took it meanwhile). A failed renewal is retried
// within a second; losing and regaining the lease are logged.
//
//   absl::StatusOr<std::unique_ptr<NodeLease>> lease = NodeLease::Acquire(&pg, {});
//   IdGenerator ids(lease->get());
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/postgres_pool.h"

namespace im::message {

class NodeLease {
 public:
  struct Options {
    // A crashed holder's node id becomes free this long after its last renewal.
    absl::Duration ttl = absl::Seconds(30);
    // Renewals per ttl.
    int renewals_per_ttl = 3;
    // After a failed renewal the next try comes this soon, so a Postgres outage costs the lease
    // no more than the outage itself.
    absl::Duration retry_interval = absl::Seconds(1);
  };

  // Takes the lowest node id that is free or whose lease expired. RESOURCE_EXHAUSTED when all
  // 1024 are held; UNAVAILABLE when Postgres does not answer.
  static absl::StatusOr<std::unique_ptr<NodeLease>> Acquire(PostgresPool* pg, Options options);

  // Stops renewing and frees the node id for the next process.
  ~NodeLease();

  int node_id() const { return node_id_; }
  // Ids minted by this holder must have a time (Unix ms) above this: the previous holder of the
  // node id may have minted ids up to its last report (plus its ttl if it did not release).
  int64_t min_ms() const { return min_ms_; }
  // False once the lease may have expired; ids must not be minted then.
  bool valid() const;
  // The highest id time (Unix ms) minted so far, reported to Postgres with each renewal.
  void ReportMs(int64_t ms) { last_ms_.store(ms, std::memory_order_relaxed); }

 private:
  NodeLease(PostgresPool* pg, Options options, std::string holder, int node_id, int64_t min_ms);
  void RenewLoop();

  PostgresPool* pg_;
  const Options options_;
  const std::string holder_;
  const int node_id_;
  const int64_t min_ms_;
  std::atomic<int64_t> last_ms_{0};
  // steady_clock nanoseconds until which the lease is surely held.
  std::atomic<int64_t> valid_until_ns_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace im::message
