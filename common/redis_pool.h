// Bounded pool of hiredis connections with pipelining: a batch of commands costs one round trip.
// Calls block, so run them on a worker pool. Each connection learns the server's run_id when it
// connects, so callers can tell a restarted Redis (whose data may be gone or rolled back) from the
// one they wrote to.
//
//   RedisPool redis({.host = "127.0.0.1", .port = 6379});
//   auto replies = redis.Pipeline({{"INCR", "a"}, {"GET", "b"}});
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/connection_pool.h"

struct redisContext;

namespace im {

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  // The text of kString, kStatus and kError replies.
  std::string str;
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
};

using RedisCommand = std::vector<std::string>;

// A Lua script run by EVALSHA. Its digest is learned from the server on first use.
class RedisScript {
 public:
  explicit RedisScript(std::string body) : body_(std::move(body)) {}
  const std::string& body() const { return body_; }

 private:
  friend class RedisConnection;
  const std::string body_;
  std::mutex mu_;
  std::string sha1_;
};

class RedisConnection {
 public:
  explicit RedisConnection(redisContext* context);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends all commands, then reads all replies. A Redis error reply is returned in place (kError);
  // an I/O failure returns UNAVAILABLE and leaves the connection unusable.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& commands);

  // Runs `script` once per element of `calls` (each: numkeys, keys..., args...) in one pipeline,
  // loading the script first where the server does not have it.
  absl::StatusOr<std::vector<RedisReply>> EvalPipeline(RedisScript& script,
                                                       const std::vector<RedisCommand>& calls);

  // The run_id of the server this connection talks to.
  const std::string& run_id() const { return run_id_; }
  // Changes whenever the server's data may have diverged from what earlier connections saw: on a
  // restart (run_id) and on every promotion of a replica (master_replid), including a failback to a
  // server that kept its run_id. Data written under another identity may be stale.
  const std::string& identity() const { return identity_; }
  // Whether the server runs in cluster mode, where one script may only touch keys of one slot.
  bool cluster_enabled() const { return cluster_enabled_; }
  bool broken() const { return broken_; }
  // Whether the batch that broke the connection failed before any of it was sent.
  bool unsent() const { return unsent_; }
  // The socket, for the pool's check of an idle connection.
  int fd() const;

  // The script's digest, loaded into the server first if unknown or `reload`.
  absl::StatusOr<std::string> LoadScript(RedisScript& script, bool reload);

  // Reads the server's run_id and cluster mode; called once after connecting.
  absl::Status Handshake();

 private:
  redisContext* context_;
  std::string run_id_;
  std::string identity_;
  bool cluster_enabled_ = false;
  bool broken_ = false;
  bool unsent_ = false;
};

class RedisPool {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 6379;
    int size = 8;
    absl::Duration timeout = absl::Seconds(2);
    absl::Duration acquire_timeout = absl::Seconds(2);
  };

  explicit RedisPool(Options options);

  // Runs `fn` with a leased connection; a connection that failed is closed afterwards. When it
  // failed before `fn`'s batch left this process (the server had gone), `fn` runs once more on a
  // fresh connection, so `fn` must only write its results, not accumulate them.
  absl::Status Run(absl::FunctionRef<absl::Status(RedisConnection&)> fn);

  // Pipeline on any pooled connection; see RedisConnection::Pipeline.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(const std::vector<RedisCommand>& commands);

  // OK when a connection answers PING.
  absl::Status Ping();

 private:
  Options options_;
  ConnectionPool<RedisConnection> pool_;
};

// The status for a Redis error reply: UNAVAILABLE for the transient ones a retry may get past
// (LOADING after a restart, READONLY after a failover, BUSY, OOM, MASTERDOWN, TRYAGAIN,
// CLUSTERDOWN), INTERNAL for the rest, which mean a bug in the command.
absl::Status RedisErrorStatus(const RedisReply& reply);

// Parses "host:port" (the IM_REDIS_ADDR format).
absl::StatusOr<RedisPool::Options> ParseRedisAddr(const std::string& addr);

}  // namespace im
