#include "services/gateway/session_hub.h"

#include <algorithm>
#include <functional>

namespace im::gateway {

SessionHub::Shard& SessionHub::ShardOf(const std::string& uid) {
  return shards_[std::hash<std::string>()(uid) % kShards];
}

const SessionHub::Shard& SessionHub::ShardOf(const std::string& uid) const {
  return shards_[std::hash<std::string>()(uid) % kShards];
}

std::vector<std::shared_ptr<Connection>> SessionHub::Add(std::shared_ptr<Connection> conn,
                                                         MultiDevicePolicy policy) {
  const ConnectionInfo& info = conn->info();
  std::vector<std::shared_ptr<Connection>> replaced;
  Shard& shard = ShardOf(info.uid);
  std::lock_guard<std::mutex> lock(shard.mu);
  std::vector<std::shared_ptr<Connection>>& list = shard.by_uid[info.uid];
  auto replaces = [&](const std::shared_ptr<Connection>& old) {
    const ConnectionInfo& o = old->info();
    if (o.device_id == info.device_id) return true;
    return policy == MultiDevicePolicy::kKickSameFlag && o.device_flag == info.device_flag;
  };
  auto kept = std::stable_partition(list.begin(), list.end(),
                                    [&](const auto& old) { return !replaces(old); });
  replaced.assign(std::make_move_iterator(kept), std::make_move_iterator(list.end()));
  list.erase(kept, list.end());
  list.push_back(std::move(conn));
  return replaced;
}

bool SessionHub::Remove(const Connection& conn) {
  const ConnectionInfo& info = conn.info();
  Shard& shard = ShardOf(info.uid);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.by_uid.find(info.uid);
  if (it == shard.by_uid.end()) return false;
  std::vector<std::shared_ptr<Connection>>& list = it->second;
  auto self = std::find_if(list.begin(), list.end(),
                           [&](const auto& candidate) { return candidate.get() == &conn; });
  if (self == list.end()) return false;
  list.erase(self);
  const bool device_gone = std::none_of(list.begin(), list.end(), [&](const auto& other) {
    return other->info().device_id == info.device_id;
  });
  if (list.empty()) shard.by_uid.erase(it);
  return device_gone;
}

bool SessionHub::Contains(const Connection& conn) const {
  const Shard& shard = ShardOf(conn.info().uid);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.by_uid.find(conn.info().uid);
  if (it == shard.by_uid.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const auto& candidate) { return candidate.get() == &conn; });
}

std::vector<std::shared_ptr<Connection>> SessionHub::Find(const std::string& uid) const {
  const Shard& shard = ShardOf(uid);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.by_uid.find(uid);
  if (it == shard.by_uid.end()) return {};
  return it->second;
}

bool DeviceMatch::Matches(int flag, const std::string& device) const {
  if (device_flag != 0 && flag != device_flag) return false;
  if (!keep_device_id.empty() && device == keep_device_id) return false;
  return device_id.empty() || device == device_id;
}

std::vector<std::shared_ptr<Connection>> SessionHub::Matching(const std::string& uid,
                                                              const DeviceMatch& match) const {
  std::vector<std::shared_ptr<Connection>> out;
  for (std::shared_ptr<Connection>& conn : Find(uid)) {
    const ConnectionInfo& info = conn->info();
    if (match.Matches(info.device_flag, info.device_id)) out.push_back(std::move(conn));
  }
  return out;
}

std::vector<std::shared_ptr<Connection>> SessionHub::All() const {
  std::vector<std::shared_ptr<Connection>> out;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const auto& [uid, list] : shard.by_uid) out.insert(out.end(), list.begin(), list.end());
  }
  return out;
}

size_t SessionHub::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const auto& [uid, list] : shard.by_uid) n += list.size();
  }
  return n;
}

}  // namespace im::gateway
