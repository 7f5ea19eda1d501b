// An in-process stand-in for the message service as the extension service sees it
// (im::extension::MessageClient): messages and groups the test declares, and a record of the
// notifications, so the extension logic is tested without the message binary.
//
//   FakeExtensionMessages messages;
//   messages.AddMessage("g:team", 42, /*seq=*/7);
//   messages.AddGroup("team", {"alice", "bob"});
//   auto sent = messages.WaitForNotifyItems(2, absl::Seconds(5));
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "services/extension/message_client.h"
#include "services/message/public/channel_key.h"

namespace im::testing {

class FakeExtensionMessages final : public im::extension::MessageClient {
 public:
  void AddMessage(const std::string& channel_key, uint64_t message_id, int64_t seq) {
    std::lock_guard<std::mutex> lock(mu_);
    messages_[channel_key][message_id] = seq;
  }
  void AddGroup(const std::string& group_id, const std::set<std::string>& uids) {
    std::lock_guard<std::mutex> lock(mu_);
    groups_[group_id] = uids;
  }
  // While set, every lookup answers UNAVAILABLE.
  void set_fail(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = fail;
  }
  int lookups() {
    std::lock_guard<std::mutex> lock(mu_);
    return lookups_;
  }

  absl::StatusOr<absl::flat_hash_map<uint64_t, int64_t>> MessageSeqs(
      const std::string& uid, const im::common::v1::Channel& channel,
      const std::vector<uint64_t>& message_ids) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++lookups_;
    if (fail_) return absl::UnavailableError("fake message service down");
    absl::StatusOr<ChannelKey> key = ChannelKey::For(uid, channel);
    if (!key.ok()) return key.status();
    absl::flat_hash_map<uint64_t, int64_t> out;
    for (uint64_t id : message_ids) {
      auto it = messages_[key->str()].find(id);
      if (it != messages_[key->str()].end()) out[id] = it->second;
    }
    return out;
  }

  absl::StatusOr<std::vector<bool>> CheckSubscribers(
      const std::string& group_id, const std::vector<std::string>& uids) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_) return absl::UnavailableError("fake message service down");
    auto group = groups_.find(group_id);
    if (group == groups_.end()) return absl::NotFoundError("no such group");
    std::vector<bool> out;
    for (const std::string& uid : uids) out.push_back(group->second.count(uid) > 0);
    return out;
  }

  void Notify(size_t, im::message::v1::NotifyRequest request) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& item : *request.mutable_items()) notified_.push_back(std::move(item));
    }
    cv_.notify_all();
  }

  // Every notify item so far, once there are at least `count` (or `timeout` passed).
  std::vector<im::message::v1::NotifyItem> WaitForNotifyItems(size_t count,
                                                              absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                 [&] { return notified_.size() >= count; });
    return notified_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::map<uint64_t, int64_t>> messages_;
  std::map<std::string, std::set<std::string>> groups_;
  std::vector<im::message::v1::NotifyItem> notified_;
  bool fail_ = false;
  int lookups_ = 0;
};

}  // namespace im::testing
