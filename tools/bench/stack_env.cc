#include "tools/bench/stack_env.h"

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace im::bench {
namespace {

bool IsKey(absl::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!absl::ascii_isupper(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<StackEnv> StackEnv::Read(const std::string& dir) {
  const std::string path = absl::StrCat(dir, "/stack.env");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no stack file ", path));
  StackEnv stack;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text.front() == '#') continue;
    const size_t equals = text.find('=');
    if (equals == absl::string_view::npos || !IsKey(text.substr(0, equals))) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": not KEY=value: '", text, "'"));
    }
    stack.values_[std::string(text.substr(0, equals))] = std::string(text.substr(equals + 1));
  }
  return stack;
}

StackEnv StackEnv::Usual() {
  StackEnv stack;
  stack.values_["HOST"] = "127.0.0.1";
  stack.values_["WS_PORT"] = "8080";
  int i = 0;
  for (const char* service : {"SEQUENCE", "GATEWAY", "MESSAGE", "CONVERSATION", "EXTENSION"}) {
    stack.values_[absl::StrCat(service, "_GRPC_PORT")] = absl::StrCat(7001 + i++);
  }
  return stack;
}

std::string StackEnv::Get(absl::string_view key) const {
  const auto it = values_.find(key);
  return it == values_.end() ? "" : it->second;
}

std::string StackEnv::AddressOf(absl::string_view port_key) const {
  const std::string host = Get("HOST");
  const std::string port = Get(port_key);
  return host.empty() || port.empty() ? "" : absl::StrCat(host, ":", port);
}

std::string StackEnv::GrpcAddress(absl::string_view service) const {
  return AddressOf(absl::StrCat(absl::AsciiStrToUpper(service), "_GRPC_PORT"));
}

std::string StackEnv::WsAddress() const { return AddressOf("WS_PORT"); }

int StackEnv::Pid(absl::string_view name) const {
  int pid = 0;
  return absl::SimpleAtoi(Get(absl::StrCat(absl::AsciiStrToUpper(name), "_PID")), &pid) && pid > 0
             ? pid
             : 0;
}

absl::StatusOr<StackEnv> ReadStackDir(const std::string& dir) {
  if (!dir.empty()) return StackEnv::Read(dir);
  absl::StatusOr<StackEnv> stack = StackEnv::Read(".local/run");
  if (stack.ok() || !absl::IsNotFound(stack.status())) return stack;
  std::fprintf(stderr, "%s: %s; using scripts/run.sh's usual addresses\n",
               program_invocation_short_name, std::string(stack.status().message()).c_str());
  return StackEnv::Usual();
}

std::string FlagOrStack(const std::string& flag_value, const std::string& from_stack) {
  return flag_value.empty() ? from_stack : flag_value;
}

}  // namespace im::bench
