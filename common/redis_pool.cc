#include "common/redis_pool.h"

#include <hiredis/hiredis.h>

#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/idle_socket.h"

namespace im {
namespace {

RedisReply Convert(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i)
        out.elements.push_back(Convert(reply->element[i]));
      break;
    default:
      break;
  }
  return out;
}

// The value of `field` in an INFO reply; empty if the server does not report it.
std::string InfoField(const std::string& info, absl::string_view field) {
  for (absl::string_view line : absl::StrSplit(info, "\r\n")) {
    if (absl::ConsumePrefix(&line, field) && absl::ConsumePrefix(&line, ":")) {
      return std::string(line);
    }
  }
  return "";
}

// A connection that got one of these talks to a server that cannot take writes now (a demoted
// master, a server still loading); a new connection may reach the right one.
bool ConnectionIsStale(const RedisReply& reply) {
  return reply.is_error() &&
         (absl::StartsWith(reply.str, "READONLY") || absl::StartsWith(reply.str, "LOADING") ||
          absl::StartsWith(reply.str, "MASTERDOWN"));
}

}  // namespace

absl::Status RedisErrorStatus(const RedisReply& reply) {
  for (const char* transient :
       {"LOADING", "READONLY", "BUSY", "OOM", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (absl::StartsWith(reply.str, transient)) {
      return absl::UnavailableError(absl::StrCat("redis: ", reply.str));
    }
  }
  return absl::InternalError(absl::StrCat("redis: ", reply.str));
}

RedisConnection::RedisConnection(redisContext* context) : context_(context) {}

RedisConnection::~RedisConnection() { redisFree(context_); }

int RedisConnection::fd() const { return context_->fd; }

absl::Status RedisConnection::Handshake() {
  absl::StatusOr<std::vector<RedisReply>> info =
      Pipeline({{"INFO", "server"}, {"INFO", "cluster"}, {"INFO", "replication"}});
  if (!info.ok()) return info.status();
  for (const RedisReply& reply : *info) {
    if (reply.is_error()) return absl::UnavailableError(absl::StrCat("redis INFO: ", reply.str));
  }
  run_id_ = InfoField((*info)[0].str, "run_id");
  cluster_enabled_ = InfoField((*info)[1].str, "cluster_enabled") == "1";
  identity_ = absl::StrCat(run_id_, ":", InfoField((*info)[2].str, "master_replid"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Pipeline(
    const std::vector<RedisCommand>& commands) {
  if (broken_) return absl::UnavailableError("redis connection is broken");
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const RedisCommand& command : commands) {
    argv.clear();
    argvlen.clear();
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      argvlen.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               argvlen.data()) != REDIS_OK) {
      broken_ = true;
      return absl::UnavailableError(absl::StrCat("redis: ", context_->errstr));
    }
  }
  // Flushed here rather than by the first redisGetReply, to know whether a failure left the
  // whole batch unsent (then the pool may send it again on another connection).
  const size_t queued = sdslen(context_->obuf);
  for (int done = 0; !done;) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      broken_ = true;
      unsent_ = sdslen(context_->obuf) == queued;
      return absl::UnavailableError(absl::StrCat("redis: ", context_->errstr));
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      broken_ = true;
      return absl::UnavailableError(absl::StrCat("redis: ", context_->errstr));
    }
    std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                       freeReplyObject);
    replies.push_back(Convert(reply.get()));
    if (ConnectionIsStale(replies.back())) broken_ = true;
  }
  return replies;
}

absl::StatusOr<std::string> RedisConnection::LoadScript(RedisScript& script, bool reload) {
  std::lock_guard<std::mutex> lock(script.mu_);
  if (script.sha1_.empty() || reload) {
    absl::StatusOr<std::vector<RedisReply>> loaded = Pipeline({{"SCRIPT", "LOAD", script.body_}});
    if (!loaded.ok()) return loaded.status();
    if ((*loaded)[0].type != RedisReply::Type::kString) return RedisErrorStatus((*loaded)[0]);
    script.sha1_ = (*loaded)[0].str;
  }
  return script.sha1_;
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::EvalPipeline(
    RedisScript& script, const std::vector<RedisCommand>& calls) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<std::string> sha1 = LoadScript(script, attempt > 0);
    if (!sha1.ok()) return sha1.status();
    std::vector<RedisCommand> commands;
    commands.reserve(calls.size());
    for (const RedisCommand& call : calls) {
      RedisCommand command = {"EVALSHA", *sha1};
      command.insert(command.end(), call.begin(), call.end());
      commands.push_back(std::move(command));
    }
    absl::StatusOr<std::vector<RedisReply>> replies = Pipeline(commands);
    if (!replies.ok()) return replies.status();
    size_t missing = 0;
    for (const RedisReply& reply : *replies) {
      if (reply.is_error() && absl::StartsWith(reply.str, "NOSCRIPT")) ++missing;
    }
    if (missing == 0) return replies;
    // Scripts are not idempotent, so the batch is only sent again when none of it ran (the
    // server restarted or SCRIPT FLUSH ran before it). If the cache was flushed halfway, the part
    // that ran is given up: for counters that leaves a gap, never a repeat.
    if (missing < replies->size()) {
      return absl::UnavailableError("redis script cache was flushed during a batch; retry");
    }
  }
  return absl::UnavailableError("redis keeps losing its script cache; retry");
}

RedisPool::RedisPool(Options options)
    : options_(std::move(options)),
      pool_(
          options_.size, options_.acquire_timeout,
          [this]() -> absl::StatusOr<std::unique_ptr<RedisConnection>> {
            redisContext* context = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                                            absl::ToTimeval(options_.timeout));
            if (context == nullptr) return absl::UnavailableError("redis: out of memory");
            if (context->err != 0) {
              absl::Status error = absl::UnavailableError(absl::StrCat(
                  "redis connect ", options_.host, ":", options_.port, ": ", context->errstr));
              redisFree(context);
              return error;
            }
            redisSetTimeout(context, absl::ToTimeval(options_.timeout));
            auto conn = std::make_unique<RedisConnection>(context);
            absl::Status handshake = conn->Handshake();
            if (!handshake.ok()) return handshake;
            return conn;
          },
          [](RedisConnection& conn) { return IdleSocketIsOpen(conn.fd()); }) {}

absl::Status RedisPool::Run(absl::FunctionRef<absl::Status(RedisConnection&)> fn) {
  absl::Status status;
  // A batch that a dead connection could not send at all is sent once more on another one: the
  // server never saw it, so nothing runs twice.
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<ConnectionPool<RedisConnection>::Lease> lease = pool_.Acquire();
    if (!lease.ok()) return lease.status();
    status = fn(**lease);
    if (!(*lease)->broken()) return status;
    const bool resend = (*lease)->unsent();
    lease->MarkBroken();
    if (!resend) return status;
  }
  return status;
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::Pipeline(
    const std::vector<RedisCommand>& commands) {
  absl::StatusOr<std::vector<RedisReply>> replies;
  absl::Status status = Run([&](RedisConnection& conn) {
    replies = conn.Pipeline(commands);
    return replies.status();
  });
  if (!status.ok()) return status;
  return replies;
}

absl::Status RedisPool::Ping() {
  absl::StatusOr<std::vector<RedisReply>> replies = Pipeline({{"PING"}});
  if (!replies.ok()) return replies.status();
  if ((*replies)[0].is_error()) return absl::UnavailableError((*replies)[0].str);
  return absl::OkStatus();
}

absl::StatusOr<RedisPool::Options> ParseRedisAddr(const std::string& addr) {
  std::pair<std::string, std::string> parts = absl::StrSplit(addr, absl::MaxSplits(':', 1));
  RedisPool::Options options;
  options.host = parts.first;
  if (options.host.empty() || !absl::SimpleAtoi(parts.second, &options.port) || options.port <= 0 ||
      options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis address must be host:port, got \"", addr, "\""));
  }
  return options;
}

}  // namespace im
