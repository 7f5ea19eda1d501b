#include "services/message/node_lease.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace im::message {
namespace {

// Serializes acquisitions, so two processes starting at once cannot pick the same free id.
constexpr char kLockLeases[] = R"sql(
SELECT pg_advisory_xact_lock(hashtextextended('message.node_leases', 0)))sql";

// A released id (empty holder) was left cleanly; an expired one may have been minting until its
// expiry, up to its own ttl past its last report.
constexpr char kFindFree[] = R"sql(
SELECT n, COALESCE(l.last_ms, 0), COALESCE(l.holder, '') = '', COALESCE(l.ttl_ms, 0)
FROM generate_series(0, 1023) AS n
LEFT JOIN message.node_leases l ON l.node_id = n
WHERE l.node_id IS NULL OR l.expires_at <= now()
ORDER BY n LIMIT 1)sql";

constexpr char kTake[] = R"sql(
INSERT INTO message.node_leases AS l (node_id, holder, expires_at, ttl_ms)
VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond', $3::bigint)
ON CONFLICT (node_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at,
                                    ttl_ms = EXCLUDED.ttl_ms)sql";

// A row that still names this holder was not taken by anyone, even if it expired while Postgres
// was out of reach, so renewing it is safe and minting may resume.
constexpr char kRenew[] = R"sql(
UPDATE message.node_leases
SET expires_at = now() + $3 * interval '1 millisecond', last_ms = GREATEST(last_ms, $4)
WHERE node_id = $1 AND holder = $2
RETURNING node_id)sql";

constexpr char kRelease[] = R"sql(
UPDATE message.node_leases SET holder = '', expires_at = now(), last_ms = GREATEST(last_ms, $3)
WHERE node_id = $1 AND holder = $2)sql";

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string NewHolder() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::random_device random;
  return absl::StrCat(host, "/", getpid(), "/", random(), random());
}

}  // namespace

absl::StatusOr<std::unique_ptr<NodeLease>> NodeLease::Acquire(PostgresPool* pg, Options options) {
  const std::string holder = NewHolder();
  const int64_t ttl_ms = absl::ToInt64Milliseconds(options.ttl);
  // The lease is counted from before the request: Postgres may have started it any time after.
  const int64_t started_ns = SteadyNs();
  int node_id = -1;
  int64_t min_ms = 0;
  absl::Status status = pg->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec(kLockLeases);
    pqxx::result rows = tx.exec(kFindFree);
    if (rows.empty()) return;
    node_id = rows[0][0].as<int>();
    const int64_t last_ms = rows[0][1].as<int64_t>();
    // A holder that expired may have minted until one of its ttls after its last report.
    min_ms = rows[0][2].as<bool>() ? last_ms : last_ms + rows[0][3].as<int64_t>();
    tx.exec_params(kTake, node_id, holder, ttl_ms);
    tx.commit();
  });
  if (!status.ok()) return status;
  if (node_id < 0) return absl::ResourceExhaustedError("all 1024 message node ids are leased");
  std::unique_ptr<NodeLease> lease(new NodeLease(pg, options, holder, node_id, min_ms));
  lease->valid_until_ns_.store(started_ns + absl::ToInt64Nanoseconds(options.ttl));
  lease->thread_ = std::thread([l = lease.get()] { l->RenewLoop(); });
  log::Info("node_id_leased", {{"node_id", absl::StrCat(node_id)}, {"holder", holder}});
  return lease;
}

NodeLease::NodeLease(PostgresPool* pg, Options options, std::string holder, int node_id,
                     int64_t min_ms)
    : pg_(pg),
      options_(options),
      holder_(std::move(holder)),
      node_id_(node_id),
      min_ms_(min_ms),
      valid_until_ns_(0) {}

NodeLease::~NodeLease() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  valid_until_ns_.store(0);
  absl::Status status = pg_->Run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    tx.exec_params(kRelease, node_id_, holder_, last_ms_.load());
    tx.commit();
  });
  if (!status.ok()) {
    log::Warning("node_id_release_failed", {{"error", std::string(status.message())}});
  }
}

bool NodeLease::valid() const { return SteadyNs() < valid_until_ns_.load(); }

void NodeLease::RenewLoop() {
  const absl::Duration interval = options_.ttl / options_.renewals_per_ttl;
  const absl::Duration retry = std::min(interval, options_.retry_interval);
  const int64_t ttl_ms = absl::ToInt64Milliseconds(options_.ttl);
  const std::string node = absl::StrCat(node_id_);
  bool failing = false;
  bool lost = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, absl::ToChronoNanoseconds(failing ? retry : interval),
                       [this] { return stopping_; })) {
    lock.unlock();
    const int64_t started_ns = SteadyNs();
    bool renewed = false;
    absl::Status status = pg_->Run([&](pqxx::connection& conn) {
      pqxx::work tx(conn);
      // Reporting the current time too (not only the last id's) bounds what this holder may mint
      // until its lease runs out, which is where the next holder starts.
      const int64_t report = std::max(last_ms_.load(), absl::ToUnixMillis(absl::Now()));
      renewed = !tx.exec_params(kRenew, node_id_, holder_, ttl_ms, report).empty();
      tx.commit();
    });
    const bool was_failing = failing;
    failing = !status.ok();
    renewed = renewed && status.ok();  // An UPDATE whose commit failed renewed nothing.
    if (renewed) {
      valid_until_ns_.store(started_ns + absl::ToInt64Nanoseconds(options_.ttl));
      if (lost) log::Info("node_id_lease_regained", {{"node_id", node}});
      lost = false;
    } else if (status.ok()) {
      // Another process took it after it expired: this process must not mint again.
      valid_until_ns_.store(0);
      log::Error("node_id_taken", {{"node_id", node}});
      lock.lock();
      return;
    } else {
      // Once per outage: the retries every second would otherwise flood the log.
      if (!was_failing) {
        log::Warning("node_id_renew_failed",
                     {{"node_id", node}, {"error", std::string(status.message())}});
      }
      if (!lost && !valid()) {
        lost = true;
        log::Error("node_id_lease_lost",
                   {{"node_id", node}, {"error", std::string(status.message())}});
      }
    }
    lock.lock();
  }
}

}  // namespace im::message
