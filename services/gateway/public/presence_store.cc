#include "services/gateway/public/presence_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace im::gateway {
namespace {

std::string PresenceKey(const std::string& uid) { return absl::StrCat("gw:pres:{", uid, "}"); }

std::string EncodeValue(const PresenceEntry& entry) {
  return absl::StrCat(entry.gateway, "|", entry.device_flag, "|", entry.connected_at_ms, "|",
                      entry.expires_at_ms);
}

bool DecodeValue(const std::string& value, PresenceEntry* entry) {
  std::vector<absl::string_view> parts = absl::StrSplit(value, '|');
  if (parts.size() != 4 || parts[0].empty()) return false;
  entry->gateway = std::string(parts[0]);
  return absl::SimpleAtoi(parts[1], &entry->device_flag) &&
         absl::SimpleAtoi(parts[2], &entry->connected_at_ms) &&
         absl::SimpleAtoi(parts[3], &entry->expires_at_ms);
}

// Deletes the device's entry only while it still names this gateway (KEYS[1] = hash, ARGV[1] =
// device_id, ARGV[2] = gateway); a reconnect elsewhere in between must survive our late cleanup.
RedisScript& UnregisterScript() {
  static RedisScript* script = new RedisScript(R"lua(
local value = redis.call('HGET', KEYS[1], ARGV[1])
if value and string.sub(value, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
)lua");
  return *script;
}

// Writes the device's entry unless it would move it off a newer connection: the stored entry must
// be absent, expired, of this gateway, or no newer than this one. Otherwise a gateway refreshing a
// half-open socket would point the device back at itself after it reconnected elsewhere. KEYS[1] =
// hash, ARGV = device_id, value, gateway, connected_at_ms, ttl ms, now ms. Returns 1 if written.
RedisScript& RegisterScript() {
  static RedisScript* script = new RedisScript(R"lua(
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local gateway, connected, expires = string.match(old, '^([^|]*)|[^|]*|([^|]*)|([^|]*)$')
  connected, expires = tonumber(connected), tonumber(expires)
  if gateway and gateway ~= ARGV[3] and connected and expires and
      connected > tonumber(ARGV[4]) and expires > tonumber(ARGV[6]) then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
)lua");
  return *script;
}

absl::Status FirstError(const std::vector<RedisReply>& replies) {
  for (const RedisReply& reply : replies) {
    if (reply.is_error()) return RedisErrorStatus(reply);
  }
  return absl::OkStatus();
}

}  // namespace

PresenceStore::PresenceStore(RedisPool& redis, absl::Duration ttl) : redis_(redis), ttl_(ttl) {}

absl::Status PresenceStore::Register(const std::vector<PresenceEntry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const std::string now = absl::StrCat(now_ms);
  const std::string ttl_ms = absl::StrCat(absl::ToInt64Milliseconds(ttl_));
  std::vector<RedisCommand> calls;
  calls.reserve(entries.size());
  for (const PresenceEntry& entry : entries) {
    PresenceEntry stamped = entry;
    stamped.expires_at_ms = now_ms + absl::ToInt64Milliseconds(ttl_);
    calls.push_back({"1", PresenceKey(entry.uid), entry.device_id, EncodeValue(stamped),
                     entry.gateway, absl::StrCat(entry.connected_at_ms), ttl_ms, now});
  }
  return redis_.Run([&](RedisConnection& connection) -> absl::Status {
    absl::StatusOr<std::vector<RedisReply>> replies =
        connection.EvalPipeline(RegisterScript(), calls);
    if (!replies.ok()) return replies.status();
    return FirstError(*replies);
  });
}

absl::Status PresenceStore::Unregister(
    const std::string& gateway,
    const std::vector<std::pair<std::string, std::string>>& uid_devices) {
  if (uid_devices.empty()) return absl::OkStatus();
  std::vector<RedisCommand> calls;
  calls.reserve(uid_devices.size());
  for (const auto& [uid, device_id] : uid_devices) {
    calls.push_back({"1", PresenceKey(uid), device_id, gateway});
  }
  return redis_.Run([&](RedisConnection& connection) -> absl::Status {
    absl::StatusOr<std::vector<RedisReply>> replies =
        connection.EvalPipeline(UnregisterScript(), calls);
    if (!replies.ok()) return replies.status();
    return FirstError(*replies);
  });
}

absl::StatusOr<std::vector<std::vector<PresenceEntry>>> PresenceStore::Lookup(
    const std::vector<std::string>& uids) {
  std::vector<std::vector<PresenceEntry>> result(uids.size());
  if (uids.empty()) return result;
  std::vector<RedisCommand> commands;
  commands.reserve(uids.size());
  for (const std::string& uid : uids) commands.push_back({"HGETALL", PresenceKey(uid)});
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  if (absl::Status s = FirstError(*replies); !s.ok()) return s;
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (size_t i = 0; i < uids.size(); ++i) {
    const std::vector<RedisReply>& fields = (*replies)[i].elements;
    for (size_t f = 0; f + 1 < fields.size(); f += 2) {
      PresenceEntry entry;
      // An entry we cannot parse was written by something else; skipping it only costs a push.
      if (!DecodeValue(fields[f + 1].str, &entry) || entry.expires_at_ms <= now_ms) continue;
      entry.uid = uids[i];
      entry.device_id = fields[f].str;
      result[i].push_back(std::move(entry));
    }
  }
  return result;
}

}  // namespace im::gateway
