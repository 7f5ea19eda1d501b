// The extension service's logic, apart from gRPC and threads: Set batches (membership, message
// existence, one locked transaction per batch with versions from the sequence service, the
// decisions of set_rules.h, the notifications to send), Get and Sync for readers.
//
//   Extensions extensions(&store, &messages, &versions, {});
//   absl::StatusOr<PendingSet> pending = extensions.Prepare(request, now_ms);
//   SetBatchResult result = extensions.SetBatch({&*pending});
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "im/extension/v1/extension.pb.h"
#include "im/message/v1/message.pb.h"
#include "services/extension/extension_store.h"
#include "services/extension/message_client.h"
#include "services/extension/set_rules.h"
#include "services/extension/version_client.h"

namespace im::extension {

// A Set that passed the checks needing no I/O, waiting for its batch.
struct PendingSet {
  std::string channel_key;
  im::common::v1::ChannelType channel_type = im::common::v1::CHANNEL_TYPE_UNSPECIFIED;
  uint64_t message_id = 0;
  bool from_client = false;
  Change change;
};

// The result of one Set: OK with the response, or the error. FAILED_PRECONDITION carries the
// current ExtensionValue as its details (common/status.h).
struct SetOutcome {
  absl::Status status;
  v1::SetResponse response;
};

struct SetBatchResult {
  // One per item, in order.
  std::vector<SetOutcome> outcomes;
  // For MessageService.Notify, once the callers are answered: per channel the applied changes in
  // version order (a PERSON chat once per party, as that party sees it).
  std::vector<im::message::v1::NotifyRequest> notifications;
};

class Extensions {
 public:
  struct Options {
    size_t max_ext_bytes = 16 * 1024;
    ClientPolicy client;
    uint32_t sync_default_limit = 100;
    uint32_t sync_max_limit = 1000;
    // Most message ids per Get.
    size_t max_get = 1000;
    // How far past the server's clock a business server's timestamp may be: a later one would
    // win last-writer-wins against every change until then.
    absl::Duration max_timestamp_skew = absl::Minutes(5);
  };

  Extensions(ExtensionStore* store, MessageClient* messages, VersionClient* versions,
             Options options);

  // Validates `request` and fixes its timestamp (the caller's, or `now_ms` when unset or from a
  // client). INVALID_ARGUMENT for a bad channel, message id, mode, ext (not JSON, not an object,
  // too large) or nothing to change; PERMISSION_DENIED for a client request that configuration
  // does not allow.
  absl::StatusOr<PendingSet> Prepare(const v1::SetRequest& request, int64_t now_ms) const;

  // Applies the items in order; items of one message see each other's results. Per item: a
  // client must subscribe to a group (PERMISSION_DENIED tagged NOT_SUBSCRIBER), the message must
  // exist (NOT_FOUND), then set_rules.h decides. When Postgres or the sequence service fails, every
  // item not already failed gets that error and nothing is written. Never fails as a whole.
  SetBatchResult SetBatch(const std::vector<const PendingSet*>& items);

  // Existing extensions of the listed messages, in request order.
  absl::StatusOr<v1::GetResponse> Get(const v1::GetRequest& request);

  // A page of changes after since_version (see im.extension.v1.SyncResponse).
  absl::StatusOr<v1::SyncResponse> Sync(const v1::SyncRequest& request);

 private:
  struct Batch;

  // The channel key a reader asks about: `uid` must belong to the channel; empty only for a
  // GROUP channel.
  absl::StatusOr<std::string> ReaderKey(const std::string& uid,
                                        const im::common::v1::Channel& channel);
  void CheckMembership(Batch& batch);
  void ReadCurrent(Batch& batch);
  void Commit(Batch& batch);
  void Finish(Batch& batch, SetBatchResult& result);

  ExtensionStore* store_;
  MessageClient* messages_;
  VersionClient* versions_;
  const Options options_;
};

}  // namespace im::extension
