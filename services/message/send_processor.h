// The send path for one batch, apart from threads and gRPC: validate, check membership, dedupe,
// take seqs, commit, and say what to fan out (DESIGN.md invariants 1, 2, 4). Everything the batch
// needs from Postgres and the sequence service is asked for once per batch, not per message.
//
//   SendProcessor processor(&channels, &messages, &sequence, &ids, {});
//   std::vector<SendOutcome> outcomes = processor.Process(items);  // one per item, in order
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "im/message/v1/message.pb.h"
#include "services/message/channel_store.h"
#include "services/message/fanout_item.h"
#include "services/message/id_generator.h"
#include "services/message/message_store.h"
#include "services/message/sequence_client.h"

namespace im::message {

struct SendOutcome {
  im::message::v1::SendResult result;
  // Set for a message that was committed (or accepted, for no_persist) by this batch and must be
  // delivered now; never for duplicates or failures.
  std::optional<FanoutItem> fanout;
};

class SendProcessor {
 public:
  struct Options {
    size_t max_payload_bytes = 64 * 1024;
    // Most explicit recipients of one sync_once message.
    size_t max_recipients = 10000;
  };

  SendProcessor(ChannelStore* channels, MessageStore* messages, SequenceClient* sequence,
                IdGenerator* ids, Options options);

  // One outcome per item, in order. Items of one channel get increasing seqs in item order. Each
  // success is committed before this returns (no_persist: only accepted). When Postgres, the
  // sequence service or the id lease fails, every item not already settled gets UNAVAILABLE and
  // nothing of it is delivered. Never fails as a whole.
  std::vector<SendOutcome> Process(const std::vector<const im::message::v1::SendItem*>& items);

  // Per-item state while a batch is processed (defined in the .cc).
  struct Work;

 private:
  void Validate(Work& work) const;
  void CheckMembership(std::vector<Work>& works);
  void Dedupe(std::vector<Work>& works);
  void AssignSeqsAndIds(std::vector<Work>& works, int64_t now_ms);
  void ResolveCmdRecipients(std::vector<Work>& works);
  void Commit(std::vector<Work>& works);

  ChannelStore* channels_;
  MessageStore* messages_;
  SequenceClient* sequence_;
  IdGenerator* ids_;
  const Options options_;
};

}  // namespace im::message
