// The send path for one batch, apart from threads and gRPC: validate, check membership, dedupe,
// take seqs, commit, and say what to fan out (DESIGN.md invariants 1, 2, 4). Everything the batch
// needs from Postgres and the sequence service is asked for once per batch, not per message, and
// what it reads before its write (membership, stored sender keys, heads of new chats) travels to
// Postgres in one round trip.
//
//   SendProcessor processor({&pg, &channels, &messages, &cmds}, &sequence, &conversations, &ids,
//                           {});
//   std::vector<SendOutcome> outcomes = processor.Process(items);  // one per item, in order
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "common/postgres_pool.h"
#include "im/conversation/v1/conversation.pb.h"
#include "im/message/v1/message.pb.h"
#include "services/message/channel_store.h"
#include "services/message/cmd_store.h"
#include "services/message/conversation_client.h"
#include "services/message/fanout_item.h"
#include "services/message/id_generator.h"
#include "services/message/message_store.h"
#include "services/message/public/channel_key.h"
#include "services/message/sequence_client.h"

namespace im::message {

struct SendOutcome {
  im::message::v1::SendResult result;
  // Set for a message that was committed (or accepted, for no_persist) by this batch and must be
  // delivered now; never for duplicates or failures.
  std::optional<FanoutItem> fanout;
  // Set on the last message of its sender in its channel committed by this batch: the sender's
  // read position at it (for ConversationService.AdvanceReads).
  std::optional<im::conversation::v1::ReadAdvance> read_advance;
  // A cmd (sync_once) stored by this batch, waiting for the expander to fill the inboxes and push.
  bool cmd_stored = false;
};

// The stores a send reads and writes, all on `pg`, which runs their reads before the write
// together.
struct SendStores {
  PostgresPool* pg;
  ChannelStore* channels;
  MessageStore* messages;
  CmdStore* cmds;
};

// Wall time of each step of one Process call, for the stage metrics.
struct SendStages {
  // The round trip before the write (membership, dedupe, heads) and what follows from it.
  absl::Duration reads;
  absl::Duration conversations;
  absl::Duration seqs;
  absl::Duration commit;
};

// An item to send and its channel key, made once where the item enters the service (the send
// pipeline chooses its lane by the key); an invalid channel keeps the reason.
struct KeyedSendItem {
  explicit KeyedSendItem(const im::message::v1::SendItem& send_item);

  const im::message::v1::SendItem* item;
  absl::StatusOr<ChannelKey> key;
};

class SendProcessor {
 public:
  struct Options {
    size_t max_payload_bytes = 64 * 1024;
    // Most explicit recipients of one sync_once message.
    size_t max_recipients = 10000;
    // PERSON channel keys remembered as having a head (so their conversations exist); past this
    // many the memory starts over.
    size_t max_known_heads = 1 << 20;
  };

  SendProcessor(SendStores stores, SequenceClient* sequence, ConversationClient* conversations,
                IdGenerator* ids, Options options);

  // One outcome per item, in order. Items of one channel get increasing seqs in item order. Each
  // success is committed before this returns (no_persist: only accepted). The first message of a
  // PERSON channel commits only after ConversationService.Ensure made the conversation of both
  // parties; if that fails, the items of that channel get UNAVAILABLE. When Postgres, the sequence
  // service or the id lease fails, every item not already settled gets UNAVAILABLE and nothing of
  // it is delivered. Never fails as a whole. `stages`, when given, gets the time of each step.
  std::vector<SendOutcome> Process(const std::vector<const KeyedSendItem*>& items,
                                   SendStages* stages = nullptr);

  // Per-item state while a batch is processed, and what the batch reads before its write (defined
  // in the .cc).
  struct Work;
  struct Reads;

 private:
  void Validate(Work& work) const;
  // Plans the reads from the pending items, runs them in one round trip and settles what they
  // decide: membership failures, then duplicates (in the batch and stored).
  void ReadBeforeWrite(std::vector<Work>& works, Reads& reads);
  void PlanMembership(std::vector<Work>& works, Reads& reads) const;
  void PlanDedupe(const std::vector<Work>& works, Reads& reads) const;
  void PlanHeads(const std::vector<Work>& works, Reads& reads);
  void ApplyMembership(std::vector<Work>& works, const Reads& reads) const;
  void ApplyDedupe(std::vector<Work>& works, const Reads& reads) const;
  void EnsureConversations(std::vector<Work>& works, const Reads& reads);
  void AssignSeqsAndIds(std::vector<Work>& works, int64_t now_ms);
  void ResolveCmdRecipients(std::vector<Work>& works);
  void Commit(std::vector<Work>& works);
  // Notes that a PERSON channel has a head, so its conversations exist.
  void Remember(const std::string& person_key);

  const SendStores stores_;
  SequenceClient* sequence_;
  ConversationClient* conversations_;
  IdGenerator* ids_;
  const Options options_;
  std::mutex known_heads_mu_;
  absl::flat_hash_set<std::string> known_heads_;
};

}  // namespace im::message
