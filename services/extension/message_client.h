// The extension service's view of the message service: which messages exist (and their seqs),
// who belongs to a group, and the one fan-out path for EXTENSION_CHANGED pushes. The lookups block
// with a deadline (call them from worker or lane threads); Notify only queues. Virtual so that
// tests of the extension logic can stand in for the message service.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "im/message/v1/message.grpc.pb.h"

namespace im::extension {

class MessageClient {
 public:
  virtual ~MessageClient() = default;

  // The seq of each of `message_ids` that exists in `channel` as `uid` sees it (uid empty only
  // for a GROUP channel); missing ids are left out.
  virtual absl::StatusOr<absl::flat_hash_map<uint64_t, int64_t>> MessageSeqs(
      const std::string& uid, const im::common::v1::Channel& channel,
      const std::vector<uint64_t>& message_ids) = 0;

  // One flag per uid: whether it subscribes to the group. NOT_FOUND for an unknown group.
  virtual absl::StatusOr<std::vector<bool>> CheckSubscribers(
      const std::string& group_id, const std::vector<std::string>& uids) = 0;

  // Queues `request` for MessageService.Notify behind earlier requests of the same `lane` and
  // returns at once. Best effort: failures are logged, never retried.
  virtual void Notify(size_t lane, im::message::v1::NotifyRequest request) = 0;
};

class GrpcMessageClient final : public MessageClient {
 public:
  struct Options {
    absl::Duration timeout = absl::Seconds(3);
    // Notify lanes; each has at most one call in flight, so a lane's requests arrive in order.
    size_t notify_lanes = 4;
    // Requests waiting per lane; beyond it new ones are dropped (and logged).
    size_t max_queued = 10000;
  };

  GrpcMessageClient(std::shared_ptr<grpc::Channel> channel, Options options);
  // Waits for the calls in flight; queued requests are dropped.
  ~GrpcMessageClient() override;

  absl::StatusOr<absl::flat_hash_map<uint64_t, int64_t>> MessageSeqs(
      const std::string& uid, const im::common::v1::Channel& channel,
      const std::vector<uint64_t>& message_ids) override;
  absl::StatusOr<std::vector<bool>> CheckSubscribers(const std::string& group_id,
                                                     const std::vector<std::string>& uids) override;
  void Notify(size_t lane, im::message::v1::NotifyRequest request) override;

 private:
  struct Call;
  struct Lane {
    std::mutex mu;
    std::deque<im::message::v1::NotifyRequest> queue;
    bool in_flight = false;
  };

  void SetDeadline(grpc::ClientContext& context) const;
  // Starts the next queued call of `lane` (whose in_flight the caller set).
  void Start(Lane& lane, im::message::v1::NotifyRequest request);
  void Finished(Lane& lane);

  std::unique_ptr<im::message::v1::MessageService::Stub> messages_;
  std::unique_ptr<im::message::v1::ChannelService::Stub> channels_;
  const Options options_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::mutex calls_mu_;
  std::condition_variable calls_cv_;
  int calls_ = 0;
};

}  // namespace im::extension
