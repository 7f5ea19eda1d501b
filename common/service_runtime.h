// What every service binary is made of, started in order: Postgres and Redis pools, a worker pool
// for blocking work, migrations, Prometheus /metrics, and a gRPC server with the health service
// (SERVING only while Postgres and Redis answer), reflection and per-RPC metrics. Serve() blocks
// until SIGTERM or SIGINT, then reports NOT_SERVING and drains in-flight RPCs.
//
//   im::ServiceRuntime runtime(im::InitProcess(argc, argv, "sequence"));
//   if (int code = runtime.Migrate(EmbeddedMigrations()); code >= 0) return code;
//   MyService service(...);
//   return runtime.Serve({&service});
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <vector>

#include "common/config.h"
#include "common/metrics.h"
#include "common/migrations.h"
#include "common/postgres_pool.h"
#include "common/redis_pool.h"
#include "common/worker_pool.h"

namespace im {

class ServiceRuntime {
 public:
  // Exits with status 2 when the Redis address is malformed; pools connect lazily.
  explicit ServiceRuntime(CommonConfig config);
  ~ServiceRuntime();

  PostgresPool& postgres() { return *postgres_; }
  RedisPool& redis() { return *redis_; }
  WorkerPool& workers() { return *workers_; }

  // Applies the service's migrations to its schema (named after the service) when --migrate_only
  // or --auto_migrate is set. Returns the exit code the process should end with: 0 after
  // --migrate_only, 1 on failure; -1 means "go on serving".
  int Migrate(const std::vector<Migration>& migrations);

  // Runs `hook` on the signal thread when SIGTERM/SIGINT arrives, before in-flight RPCs are
  // drained; for services with state of their own to wind down (e.g. the gateway's clients).
  void OnDrain(std::function<void()> hook) { on_drain_ = std::move(hook); }

  // Exposes `collectable` (a service's own prometheus registry) on /metrics too.
  void AddMetrics(std::shared_ptr<prometheus::Collectable> collectable) {
    collectables_.push_back(std::move(collectable));
  }

  // Serves until SIGTERM/SIGINT, then drains for up to --drain_timeout. Returns the exit code.
  int Serve(const std::vector<grpc::Service*>& services);

 private:
  CommonConfig config_;
  std::unique_ptr<PostgresPool> postgres_;
  std::unique_ptr<RedisPool> redis_;
  RedisPool::Options redis_options_probe_;
  std::unique_ptr<WorkerPool> workers_;
  std::function<void()> on_drain_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

}  // namespace im
