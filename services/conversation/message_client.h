// The conversation service's view of the message service: channel heads (the counters and last
// messages a conversation list is computed from), read positions, and the one fan-out path for
// SEQ_UPDATE pushes. Blocking calls with a deadline, made from worker threads. Virtual so that
// tests of the conversation logic can stand in for the message service.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "im/conversation/v1/conversation.pb.h"
#include "im/message/v1/message.grpc.pb.h"

namespace im::conversation {

// What to read of each channel for one viewer.
struct HeadsQuery {
  std::vector<im::common::v1::Channel> channels;
  bool with_messages = false;
  uint32_t msg_count = 0;
  // Parallel to channels when with_messages: messages up to this seq are hidden from the viewer.
  std::vector<int64_t> hidden_to_seqs;
};

class MessageClient {
 public:
  virtual ~MessageClient() = default;

  // One head per channel, same order, and the snapshot time.
  virtual absl::StatusOr<im::message::v1::GetChannelHeadsResponse> GetHeads(
      const std::string& uid, const HeadsQuery& query) = 0;

  virtual absl::StatusOr<im::message::v1::ReadPosition> GetReadPosition(
      const im::message::v1::GetReadPositionRequest& request) = 0;

  // Pushes `update` to the user's online devices except `except_device_id` (none when empty).
  // Best effort: the devices that miss it catch up through Sync.
  virtual absl::Status PushSeqUpdate(const std::string& uid, const std::string& except_device_id,
                                     const im::conversation::v1::SeqUpdate& update) = 0;
};

class GrpcMessageClient final : public MessageClient {
 public:
  GrpcMessageClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout);

  absl::StatusOr<im::message::v1::GetChannelHeadsResponse> GetHeads(
      const std::string& uid, const HeadsQuery& query) override;
  absl::StatusOr<im::message::v1::ReadPosition> GetReadPosition(
      const im::message::v1::GetReadPositionRequest& request) override;
  absl::Status PushSeqUpdate(const std::string& uid, const std::string& except_device_id,
                             const im::conversation::v1::SeqUpdate& update) override;

 private:
  void SetDeadline(grpc::ClientContext& context) const;

  std::unique_ptr<im::message::v1::MessageService::Stub> stub_;
  const absl::Duration timeout_;
};

}  // namespace im::conversation
