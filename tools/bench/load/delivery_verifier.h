// Checks a load run's deliveries against what the server acked: every expected recipient got
// every acked message of its channels exactly once and in seq order. Pure bookkeeping, no I/O
// and no locks: the load generator logs what each recipient saw and replays it here at the end.
//
//   DeliveryVerifier v;
//   v.Subscribe(/*recipient=*/1, /*channel=*/0);   // user 1 must get channel 0's messages
//   v.Acked(/*channel=*/0, /*seq=*/1, /*sender=*/2);
//   v.Delivered(/*recipient=*/1, /*channel=*/0, /*seq=*/1);
//   VerifyResult r = v.Check();                     // r.ok()
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace im::load {

struct VerifyResult {
  // (recipient, message) pairs that had to arrive, and deliveries seen.
  int64_t expected = 0;
  int64_t delivered = 0;
  // Failures: expected but never delivered; delivered more than once; delivered after a higher seq
  // of the same channel; delivered although nobody acked it to its sender (or to a non-recipient,
  // or back to its own sender).
  int64_t lost = 0;
  int64_t duplicates = 0;
  int64_t reordered = 0;
  int64_t unexpected = 0;
  // Not failures: a message whose send got no success ack (a timeout after commit) may arrive.
  int64_t unacked_delivered = 0;
  // The first few problems in words, for the report.
  std::vector<std::string> samples;

  bool ok() const { return lost == 0 && duplicates == 0 && reordered == 0 && unexpected == 0; }
};

class DeliveryVerifier {
 public:
  // `recipient` must get every acked message of `channel` that it did not send itself. Channels and
  // recipients are the caller's dense indexes.
  void Subscribe(uint32_t recipient, uint32_t channel);

  // The server acked a message of `sender` into `channel` at `seq` (seqs are per channel).
  void Acked(uint32_t channel, int64_t seq, uint32_t sender);

  // A send into `channel` that got no success ack: the server may still have stored it, so a
  // delivery of an unknown seq of this channel is not held against it.
  void Unsettled(uint32_t channel);

  // `recipient` saw `channel`'s message `seq`; calls for one recipient must come in arrival order.
  void Delivered(uint32_t recipient, uint32_t channel, int64_t seq);

  // The verdict over everything recorded so far.
  VerifyResult Check() const;

 private:
  struct ChannelState {
    // sender + 1 by seq; 0 = not acked.
    std::vector<uint32_t> sender_by_seq;
    bool unsettled = false;
  };
  struct Inbox {
    int64_t last_seq = 0;
    // Deliveries by seq.
    std::vector<uint8_t> count;
  };

  static uint64_t Key(uint32_t recipient, uint32_t channel) {
    return (static_cast<uint64_t>(recipient) << 32) | channel;
  }
  ChannelState& Channel(uint32_t channel);
  void Note(std::string problem);

  std::vector<ChannelState> channels_;
  std::unordered_map<uint64_t, Inbox> inboxes_;
  // Problems found while recording (duplicates, order, unexpected); losses are found by Check.
  VerifyResult recorded_;
};

}  // namespace im::load
