#include "services/sequence/counter_cache.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace im::sequence {
namespace {

// How long a user's read-seq cache lives after its last write; Postgres stays the truth.
constexpr char kReadSeqTtlSeconds[] = "86400";

// KEYS counters; ARGV[1] server identity, then one count per key. Returns, per key, two integers:
// 1, last (allocated); 0, 0 (missing); 2, cur (exhausted).
RedisScript allocate_script(R"lua(
local out = {}
for i, key in ipairs(KEYS) do
  local h = redis.call('HMGET', key, 'cur', 'hi', 'run')
  local n = tonumber(ARGV[i + 1])
  if not h[1] or h[3] ~= ARGV[1] then
    out[#out + 1] = 0
    out[#out + 1] = 0
  elseif tonumber(h[1]) + n > tonumber(h[2]) then
    out[#out + 1] = 2
    out[#out + 1] = tonumber(h[1])
  else
    out[#out + 1] = 1
    out[#out + 1] = redis.call('HINCRBY', key, 'cur', n)
  end
end
return out
)lua");

// KEYS[1] counter; ARGV[1] block start (exclusive), ARGV[2] block end, ARGV[3] server identity,
// ARGV[4] '1' if the counter may be created. Returns 1 if the counter now covers the block.
RedisScript install_script(R"lua(
local h = redis.call('HMGET', KEYS[1], 'hi', 'run')
if h[1] and h[2] == ARGV[3] then
  if tonumber(ARGV[2]) > tonumber(h[1]) then redis.call('HSET', KEYS[1], 'hi', ARGV[2]) end
  return 1
end
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'cur', ARGV[1], 'hi', ARGV[2], 'run', ARGV[3])
  return 1
end
return 0
)lua");

// KEYS[1] read-seq hash of a uid; ARGV[1] server identity, ARGV[2] ttl, then channel, seq pairs. A
// hash written under another identity may be a stale restore and is dropped first.
RedisScript raise_read_seqs_script(R"lua(
if redis.call('HGET', KEYS[1], '') ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], '', ARGV[1])
end
for i = 3, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if not cur or tonumber(ARGV[i + 1]) > tonumber(cur) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
)lua");

std::string CounterRedisKey(const CounterKey& key) {
  return absl::StrCat("seq:c:{", key.channel, "}:", key.kind);
}

std::string ReadSeqRedisKey(const std::string& uid) { return absl::StrCat("seq:r:{", uid, "}"); }

std::optional<int64_t> ParseInt(const RedisReply& reply) {
  int64_t value = 0;
  if (reply.type == RedisReply::Type::kString && absl::SimpleAtoi(reply.str, &value)) return value;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::vector<CounterCache::Allocation>> CounterCache::Allocate(
    const std::vector<CounterKey>& keys, const std::vector<int64_t>& counts) {
  std::vector<Allocation> out;
  absl::Status status = redis_->Run([&](RedisConnection& conn) -> absl::Status {
    // One script call for the whole batch saves Redis a command per counter. In cluster mode a
    // script may only touch one slot, so there each counter gets its own call.
    const size_t per_call = conn.cluster_enabled() ? 1 : keys.size();
    std::vector<RedisCommand> calls;
    for (size_t begin = 0; begin < keys.size(); begin += per_call) {
      const size_t end = std::min(keys.size(), begin + per_call);
      RedisCommand call = {absl::StrCat(end - begin)};
      for (size_t i = begin; i < end; ++i) call.push_back(CounterRedisKey(keys[i]));
      call.push_back(conn.identity());
      for (size_t i = begin; i < end; ++i) call.push_back(absl::StrCat(counts[i]));
      calls.push_back(std::move(call));
    }
    absl::StatusOr<std::vector<RedisReply>> replies = conn.EvalPipeline(allocate_script, calls);
    if (!replies.ok()) return replies.status();
    out.reserve(keys.size());
    for (const RedisReply& reply : *replies) {
      if (reply.is_error()) return RedisErrorStatus(reply);
      if (reply.type != RedisReply::Type::kArray || reply.elements.size() % 2 != 0) {
        return absl::InternalError("redis allocate script: unexpected reply");
      }
      for (size_t i = 0; i < reply.elements.size(); i += 2) {
        Allocation allocation;
        switch (reply.elements[i].integer) {
          case 1:
            allocation.outcome = Outcome::kAllocated;
            allocation.last = reply.elements[i + 1].integer;
            break;
          case 2:
            allocation.outcome = Outcome::kExhausted;
            break;
          default:
            allocation.outcome = Outcome::kMissing;
        }
        out.push_back(allocation);
      }
    }
    if (out.size() != keys.size()) return absl::InternalError("redis allocate script: short reply");
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<bool>> CounterCache::Install(const std::vector<Block>& blocks,
                                                        const std::vector<bool>& fresh) {
  std::vector<bool> covered;
  absl::Status status = redis_->Run([&](RedisConnection& conn) -> absl::Status {
    std::vector<RedisCommand> calls;
    calls.reserve(blocks.size());
    for (size_t i = 0; i < blocks.size(); ++i) {
      calls.push_back({"1", CounterRedisKey(blocks[i].key), absl::StrCat(blocks[i].reserved_before),
                       absl::StrCat(blocks[i].reserved_after), conn.identity(),
                       fresh[i] ? "1" : "0"});
    }
    absl::StatusOr<std::vector<RedisReply>> replies = conn.EvalPipeline(install_script, calls);
    if (!replies.ok()) return replies.status();
    for (const RedisReply& reply : *replies) {
      if (reply.is_error()) return RedisErrorStatus(reply);
      covered.push_back(reply.integer == 1);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return covered;
}

absl::StatusOr<std::vector<std::optional<int64_t>>> CounterCache::Peek(
    const std::vector<CounterKey>& keys) {
  std::vector<std::optional<int64_t>> out;
  absl::Status status = redis_->Run([&](RedisConnection& conn) -> absl::Status {
    std::vector<RedisCommand> commands;
    commands.reserve(keys.size());
    for (const CounterKey& key : keys) {
      commands.push_back({"HMGET", CounterRedisKey(key), "cur", "run"});
    }
    absl::StatusOr<std::vector<RedisReply>> replies = conn.Pipeline(commands);
    if (!replies.ok()) return replies.status();
    for (const RedisReply& reply : *replies) {
      if (reply.is_error()) return RedisErrorStatus(reply);
      const bool valid = reply.elements.size() == 2 &&
                         reply.elements[1].type == RedisReply::Type::kString &&
                         reply.elements[1].str == conn.identity();
      out.push_back(valid ? ParseInt(reply.elements[0]) : std::nullopt);
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<std::optional<int64_t>>> CounterCache::GetReadSeqs(
    const std::string& uid, const std::vector<std::string>& channels) {
  std::vector<std::optional<int64_t>> out(channels.size());
  absl::Status status = redis_->Run([&](RedisConnection& conn) -> absl::Status {
    // The empty field holds the server identity the hash was written under; channels are never
    // empty.
    RedisCommand command = {"HMGET", ReadSeqRedisKey(uid), ""};
    command.insert(command.end(), channels.begin(), channels.end());
    absl::StatusOr<std::vector<RedisReply>> replies = conn.Pipeline({command});
    if (!replies.ok()) return replies.status();
    const RedisReply& reply = (*replies)[0];
    if (reply.is_error()) return RedisErrorStatus(reply);
    if (reply.elements.size() != channels.size() + 1) {
      return absl::InternalError("redis HMGET: unexpected reply");
    }
    if (reply.elements[0].type != RedisReply::Type::kString ||
        reply.elements[0].str != conn.identity()) {
      return absl::OkStatus();
    }
    for (size_t i = 0; i < channels.size(); ++i) out[i] = ParseInt(reply.elements[i + 1]);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::Status CounterCache::RaiseReadSeqs(const std::string& uid,
                                         const std::vector<std::string>& channels,
                                         const std::vector<int64_t>& seqs) {
  return redis_->Run([&](RedisConnection& conn) -> absl::Status {
    RedisCommand call = {"1", ReadSeqRedisKey(uid), conn.identity(), kReadSeqTtlSeconds};
    for (size_t i = 0; i < channels.size(); ++i) {
      call.push_back(channels[i]);
      call.push_back(absl::StrCat(seqs[i]));
    }
    absl::StatusOr<std::vector<RedisReply>> replies =
        conn.EvalPipeline(raise_read_seqs_script, {call});
    if (!replies.ok()) return replies.status();
    if ((*replies)[0].is_error()) return RedisErrorStatus((*replies)[0]);
    return absl::OkStatus();
  });
}

}  // namespace im::sequence
