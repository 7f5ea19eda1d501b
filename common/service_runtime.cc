#include "common/service_runtime.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace im {
namespace {

// Probes Postgres and Redis on its own thread and publishes the result as the gRPC health status
// of every service on the server, so load balancers and Kubernetes stop routing to an instance
// that cannot reach its stores.
class HealthMonitor {
 public:
  HealthMonitor(grpc::HealthCheckServiceInterface* health, PostgresPool* postgres, RedisPool* redis,
                absl::Duration interval)
      : health_(health), postgres_(postgres), redis_(redis), interval_(interval) {
    thread_ = std::thread([this] { Loop(); });
  }

  ~HealthMonitor() {
    RequestStop();
    thread_.join();
  }

  // Stops publishing at once, without waiting for a probe that may be stuck on a dead store.
  void RequestStop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    bool last_serving = false;
    bool first = true;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      const absl::Status pg = postgres_->Ping();
      const absl::Status redis = redis_->Ping();
      const bool serving = pg.ok() && redis.ok();
      lock.lock();
      if (stopping_) return;
      health_->SetServingStatus(serving);
      lock.unlock();
      if (first || serving != last_serving) {
        log::Write(serving ? log::Level::kInfo : log::Level::kWarning, "health",
                   {{"serving", serving ? "true" : "false"},
                    {"postgres", pg.ok() ? "ok" : std::string(pg.message())},
                    {"redis", redis.ok() ? "ok" : std::string(redis.message())}});
      }
      first = false;
      last_serving = serving;
      lock.lock();
      cv_.wait_for(lock, absl::ToChronoNanoseconds(interval_), [this] { return stopping_; });
    }
  }

  grpc::HealthCheckServiceInterface* health_;
  PostgresPool* postgres_;
  RedisPool* redis_;
  const absl::Duration interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

ServiceRuntime::ServiceRuntime(CommonConfig config) : config_(std::move(config)) {
  absl::StatusOr<RedisPool::Options> redis_options = ParseRedisAddr(config_.redis_addr);
  if (!redis_options.ok()) {
    std::cerr << config_.service_name << ": " << redis_options.status().message() << "\n";
    std::exit(2);
  }
  redis_options_probe_ = *redis_options;
  redis_options_probe_.size = 1;
  redis_options->size = config_.redis_pool_size;
  postgres_ = std::make_unique<PostgresPool>(
      PostgresPool::Options{.dsn = config_.postgres_dsn, .size = config_.postgres_pool_size});
  redis_ = std::make_unique<RedisPool>(*redis_options);
  workers_ = std::make_unique<WorkerPool>(config_.worker_threads, config_.worker_queue);
}

ServiceRuntime::~ServiceRuntime() = default;

int ServiceRuntime::Migrate(const std::vector<Migration>& migrations) {
  if (!config_.migrate_only && !config_.auto_migrate) return -1;
  absl::StatusOr<int> applied = ApplyMigrations(*postgres_, config_.service_name, migrations);
  if (!applied.ok()) {
    log::Error("migrations_failed", {{"schema", config_.service_name},
                                     {"error", std::string(applied.status().message())}});
    return 1;
  }
  log::Info("migrations_done",
            {{"schema", config_.service_name}, {"applied", absl::StrCat(*applied)}});
  return config_.migrate_only ? 0 : -1;
}

int ServiceRuntime::Serve(const std::vector<grpc::Service*>& services) {
  absl::StatusOr<std::unique_ptr<Metrics>> metrics =
      Metrics::Start(config_.listen_host, config_.metrics_port);
  if (!metrics.ok()) {
    log::Error("metrics_failed", {{"error", std::string(metrics.status().message())}});
    return 1;
  }
  for (const std::shared_ptr<prometheus::Collectable>& collectable : collectables_) {
    (*metrics)->Register(collectable);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(absl::StrCat(config_.listen_host, ":", config_.grpc_port),
                           grpc::InsecureServerCredentials(), &grpc_port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.experimental().SetInterceptorCreators((*metrics)->InterceptorFactories());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    log::Error("grpc_bind_failed",
               {{"address", absl::StrCat(config_.listen_host, ":", config_.grpc_port)}});
    return 1;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(false);
  // The probes get connections of their own: on the shared pools, a busy service would wait
  // for a connection, fail the probe, and be taken out of rotation for being loaded.
  PostgresPool probe_postgres(
      {.dsn = config_.postgres_dsn, .size = 1, .statement_timeout = absl::Seconds(2)});
  RedisPool probe_redis(redis_options_probe_);
  auto monitor = std::make_unique<HealthMonitor>(health, &probe_postgres, &probe_redis,
                                                 config_.health_interval);
  log::Info("serving", {{"service", config_.service_name},
                        {"grpc", absl::StrCat(config_.listen_host, ":", grpc_port)},
                        {"metrics", absl::StrCat(config_.listen_host, ":", (*metrics)->port())}});

  // InitProcess blocked these signals in every thread, so this sigwait is their only receiver.
  std::thread signal_thread([&] {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    int received = 0;
    sigwait(&signals, &received);
    log::Info("draining", {{"signal", absl::StrCat(received)}});
    if (on_drain_) on_drain_();
    monitor->RequestStop();
    health->SetServingStatus(false);
    server->Shutdown(std::chrono::system_clock::now() +
                     absl::ToChronoNanoseconds(config_.drain_timeout));
    monitor.reset();
  });
  server->Wait();
  signal_thread.join();
  workers_->Shutdown();
  log::Info("stopped", {{"service", config_.service_name}});
  return 0;
}

}  // namespace im
