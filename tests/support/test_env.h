// What the test scripts hand to the tests: the real Postgres and Redis they started, and a way to
// stop and start them (scripts/stack.sh), plus helpers to run service binaries as child processes.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include "common/postgres_pool.h"
#include "common/redis_pool.h"

namespace im::testing {

// The stores of the stack scripts/test.sh started, from the stack file in IM_TEST_STACK_DIR
// (POSTGRES_DSN, REDIS_ADDR as host:port); the test fails at once when either is missing.
std::string PostgresDsn();
std::string RedisAddr();

std::unique_ptr<PostgresPool> MakePostgresPool();
std::unique_ptr<RedisPool> MakeRedisPool();

// Runs `scripts/stack.sh DIR action` (stop-redis, start-redis, restart-redis, flush-redis,
// stop-postgres, start-postgres); fails the test when it fails.
void Stack(const std::string& action);

// A name no other test (or earlier run) uses, for channels and uids.
std::string UniqueName(const std::string& prefix);

// A TCP port on 127.0.0.1 that nothing listens on right now.
int FreePort();

// A service binary run as a child process with the test stores in its environment.
class ServiceProcess {
 public:
  // Starts `binary` with IM_POSTGRES_DSN, IM_REDIS_ADDR, fresh gRPC/metrics ports and `env`; a
  // non-zero `grpc_port` is used instead of a fresh one (for services that must know each other's
  // address before either starts).
  ServiceProcess(std::string binary, std::map<std::string, std::string> env = {},
                 int grpc_port = 0);
  ~ServiceProcess();

  // Waits until gRPC health answers SERVING; false after `seconds`.
  bool WaitServing(double seconds = 20);
  // Polls health until it reports `serving` (true = SERVING); false after `seconds`.
  bool WaitHealth(bool serving, double seconds = 20);
  // SIGTERM and wait; returns the exit status (or -1).
  int Stop();
  // SIGKILL and wait.
  void Kill();
  // Starts again on the same ports.
  void Restart();

  std::string grpc_address() const;
  int metrics_port() const { return metrics_port_; }

 private:
  void Spawn();

  std::string binary_;
  std::map<std::string, std::string> env_;
  int grpc_port_;
  int metrics_port_;
  pid_t pid_ = -1;
};

// GET http://127.0.0.1:port/path; the body, or empty on failure.
std::string HttpGet(int port, const std::string& path);

// A channel with its own connections, so no backoff state from an earlier process on the same
// address (a restarted service) delays it.
std::shared_ptr<grpc::Channel> FreshChannel(const std::string& address);

// Path of a built binary, from the IM_TEST_BIN_<NAME> variable CMake sets for each test.
std::string BinaryPath(const std::string& name);

}  // namespace im::testing
