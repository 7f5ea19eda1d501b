#include "services/sequence/counter_cache.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace im::sequence {
namespace {

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

std::string CounterRedisKey(const CounterKey& key) {
  return absl::StrCat("seq:c:{", key.channel, "}:", key.kind);
}

}  // namespace

absl::StatusOr<std::vector<CounterCache::Allocation>> CounterCache::Allocate(
    const std::vector<CounterKey>& keys, const std::vector<int64_t>& counts) {
  std::vector<Allocation> out;
  absl::Status status = redis_->Run([&](RedisConnection& conn) -> absl::Status {
    out.clear();
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
    covered.clear();
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

}  // namespace im::sequence
