// The stack file: DIR/stack.env, which scripts/run.sh (in .local/run) and scripts/test.sh (in
// .local/test) write once their stack is up and remove when it stops (scripts/lib.sh lists the
// keys). The load generator, the benchmarks and the tests take the stack's addresses and pids from
// it, so no tool needs a script's printed banner or its default ports.
//
//   absl::StatusOr<StackEnv> stack = StackEnv::Read(".local/run");
//   std::string gateway = stack->GrpcAddress("gateway");  // "127.0.0.1:7002", "" when absent
//   int postgres = stack->Pid("postgres");                  // 0 when absent
//
// A tool takes the folder from a --stack_dir flag (empty: .local/run, or run.sh's usual addresses
// when that has no stack file) and each address from its own flag when set, else from the stack.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace im::bench {

class StackEnv {
 public:
  // An empty stack: every lookup answers "" or 0.
  StackEnv() = default;

  // Reads DIR/stack.env: KEY=value lines, blank lines and # comments. NOT_FOUND when there is no
  // such file, INVALID_ARGUMENT naming the first line that is not KEY=value.
  static absl::StatusOr<StackEnv> Read(const std::string& dir);
  // A stack without a stack file on run.sh's usual ports (docker compose publishes the same):
  // 127.0.0.1, gRPC 7001-7005 in run.sh's start order (sequence, gateway, message, conversation,
  // extension), WebSocket 8080; no pids.
  static StackEnv Usual();

  // The value of `key` (e.g. "POSTGRES_DSN"); "" when the file has none.
  std::string Get(absl::string_view key) const;
  // HOST:<SERVICE>_GRPC_PORT for a service ("gateway"); "" when the file has no such port.
  std::string GrpcAddress(absl::string_view service) const;
  // HOST:WS_PORT, the gateway's WebSocket; "" when absent.
  std::string WsAddress() const;
  // <NAME>_PID ("gateway", "postgres", "redis"); 0 when absent or not a number.
  int Pid(absl::string_view name) const;

 private:
  std::string AddressOf(absl::string_view port_key) const;

  std::map<std::string, std::string, std::less<>> values_;
};

// What a tool's --stack_dir names: the stack file in `dir`; with `dir` empty, the one in
// .local/run when there is one, else StackEnv::Usual() (a line on stderr says so).
absl::StatusOr<StackEnv> ReadStackDir(const std::string& dir);

// An address flag's value when set, else the stack's address for it.
std::string FlagOrStack(const std::string& flag_value, const std::string& from_stack);

}  // namespace im::bench
