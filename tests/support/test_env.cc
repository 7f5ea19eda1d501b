#include "tests/support/test_env.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tools/bench/stack_env.h"

namespace im::testing {
namespace {

std::string RequireEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name << " is not set: run the tests through scripts/test.sh";
    std::abort();
  }
  return value;
}

// The stack scripts/test.sh started, read once from its stack file.
const im::bench::StackEnv& Stack() {
  static const im::bench::StackEnv* stack = [] {
    const std::string dir = RequireEnv("IM_TEST_STACK_DIR");
    absl::StatusOr<im::bench::StackEnv> read = im::bench::StackEnv::Read(dir);
    if (!read.ok()) {
      ADD_FAILURE() << "no stack file in " << dir << ": " << read.status();
      std::abort();
    }
    return new im::bench::StackEnv(*std::move(read));
  }();
  return *stack;
}

std::string RequireStackValue(absl::string_view key) {
  std::string value = Stack().Get(key);
  if (value.empty()) {
    ADD_FAILURE() << "the stack file names no " << key;
    std::abort();
  }
  return value;
}

}  // namespace

std::string PostgresDsn() { return RequireStackValue("POSTGRES_DSN"); }
std::string RedisAddr() { return RequireStackValue("REDIS_ADDR"); }

std::unique_ptr<PostgresPool> MakePostgresPool() {
  return std::make_unique<PostgresPool>(PostgresPool::Options{.dsn = PostgresDsn(), .size = 8});
}

std::unique_ptr<RedisPool> MakeRedisPool() {
  absl::StatusOr<RedisPool::Options> options = ParseRedisAddr(RedisAddr());
  if (!options.ok()) {
    ADD_FAILURE() << options.status();
    std::abort();
  }
  return std::make_unique<RedisPool>(*options);
}

void Stack(const std::string& action) {
  const std::string command = absl::StrCat(RequireEnv("IM_TEST_STACK"), " ", action);
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

std::string UniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const uint64_t run = std::random_device{}();
  return absl::StrCat(prefix, "-", run % 1000000007, "-", getpid(), "-", counter++);
}

int FreePort() {
  // A port is bound by the child process some time after it is picked, so the kernel may offer it
  // again meanwhile (a gateway once got the extension's metrics port): never hand one out twice.
  static std::mutex mu;
  static absl::flat_hash_set<int> given;
  std::lock_guard<std::mutex> lock(mu);
  while (true) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    const int port = ntohs(addr.sin_port);
    if (given.insert(port).second) return port;
  }
}

std::shared_ptr<grpc::Channel> FreshChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

std::string BinaryPath(const std::string& name) {
  return RequireEnv(absl::StrCat("IM_TEST_BIN_", absl::AsciiStrToUpper(name)).c_str());
}

ServiceProcess::ServiceProcess(std::string binary, std::map<std::string, std::string> env,
                               int grpc_port)
    : binary_(std::move(binary)), env_(std::move(env)) {
  grpc_port_ = grpc_port != 0 ? grpc_port : FreePort();
  metrics_port_ = FreePort();
  while (metrics_port_ == grpc_port_) metrics_port_ = FreePort();
  Spawn();
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0) Kill();
}

void ServiceProcess::Spawn() {
  std::map<std::string, std::string> env = {
      {"IM_POSTGRES_DSN", PostgresDsn()},
      {"IM_REDIS_ADDR", RedisAddr()},
      {"IM_LISTEN_HOST", "127.0.0.1"},
      {"IM_GRPC_PORT", absl::StrCat(grpc_port_)},
      {"IM_METRICS_PORT", absl::StrCat(metrics_port_)},
      {"IM_HEALTH_INTERVAL", "200ms"},
      {"IM_DRAIN_TIMEOUT", "2s"},
  };
  for (const auto& [key, value] : env_) env[key] = value;
  std::vector<std::string> entries;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind("IM_", 0) != 0) entries.emplace_back(*e);
  }
  for (const auto& [key, value] : env) entries.push_back(absl::StrCat(key, "=", value));
  std::vector<char*> envp;
  for (std::string& entry : entries) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<char*> argv = {binary_.data(), nullptr};

  pid_ = fork();
  if (pid_ == 0) {
    execve(binary_.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  ASSERT_GT(pid_, 0) << "fork failed";
}

std::string ServiceProcess::grpc_address() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

bool ServiceProcess::WaitHealth(bool serving, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    // A fresh channel per try: one that failed to connect while the process was starting would
    // wait out gRPC's reconnect backoff (seconds) instead of trying again.
    auto stub = grpc::health::v1::Health::NewStub(FreshChannel(grpc_address()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    const bool is_serving =
        status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    if (status.ok() && is_serving == serving) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

bool ServiceProcess::WaitServing(double seconds) { return WaitHealth(true, seconds); }

int ServiceProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ServiceProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void ServiceProcess::Restart() {
  if (pid_ > 0) Kill();
  Spawn();
}

std::string HttpGet(int port, const std::string& path) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    http::request<http::string_body> request{http::verb::get, path, 11};
    request.set(http::field::host, "127.0.0.1");
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response.body();
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace im::testing
