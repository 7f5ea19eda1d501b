#include "tools/bench/load/delivery_verifier.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace im::load {
namespace {

constexpr size_t kMaxSamples = 10;

}  // namespace

DeliveryVerifier::ChannelState& DeliveryVerifier::Channel(uint32_t channel) {
  if (channel >= channels_.size()) channels_.resize(channel + 1);
  return channels_[channel];
}

void DeliveryVerifier::Note(std::string problem) {
  if (recorded_.samples.size() < kMaxSamples) recorded_.samples.push_back(std::move(problem));
}

void DeliveryVerifier::Subscribe(uint32_t recipient, uint32_t channel) {
  Channel(channel);
  inboxes_.try_emplace(Key(recipient, channel));
}

void DeliveryVerifier::Acked(uint32_t channel, int64_t seq, uint32_t sender) {
  if (seq <= 0) return;
  std::vector<uint32_t>& senders = Channel(channel).sender_by_seq;
  if (static_cast<size_t>(seq) >= senders.size()) senders.resize(seq + 1, 0);
  senders[seq] = sender + 1;
}

void DeliveryVerifier::Unsettled(uint32_t channel) { Channel(channel).unsettled = true; }

void DeliveryVerifier::Delivered(uint32_t recipient, uint32_t channel, int64_t seq) {
  ++recorded_.delivered;
  auto it = inboxes_.find(Key(recipient, channel));
  if (it == inboxes_.end() || seq <= 0) {
    ++recorded_.unexpected;
    Note(absl::StrCat("recipient ", recipient, " got channel ", channel, " seq ", seq,
                      " but is no recipient of it"));
    return;
  }
  Inbox& inbox = it->second;
  if (static_cast<size_t>(seq) >= inbox.count.size()) inbox.count.resize(seq + 1, 0);
  uint8_t& count = inbox.count[seq];
  if (count < 255) ++count;
  if (count > 1) {
    ++recorded_.duplicates;
    Note(absl::StrCat("recipient ", recipient, " got channel ", channel, " seq ", seq, " ", +count,
                      " times"));
    return;
  }
  if (seq < inbox.last_seq) {
    ++recorded_.reordered;
    Note(absl::StrCat("recipient ", recipient, " got channel ", channel, " seq ", seq,
                      " after seq ", inbox.last_seq));
  }
  inbox.last_seq = std::max(inbox.last_seq, seq);

  const ChannelState& state = channels_[channel];
  const uint32_t sender =
      static_cast<size_t>(seq) < state.sender_by_seq.size() ? state.sender_by_seq[seq] : 0;
  if (sender == 0) {
    if (state.unsettled) {
      ++recorded_.unacked_delivered;
    } else {
      ++recorded_.unexpected;
      Note(absl::StrCat("recipient ", recipient, " got channel ", channel, " seq ", seq,
                        " which no sender was acked"));
    }
  } else if (sender - 1 == recipient) {
    ++recorded_.unexpected;
    Note(absl::StrCat("recipient ", recipient, " got its own message, channel ", channel, " seq ",
                      seq));
  }
}

VerifyResult DeliveryVerifier::Check() const {
  VerifyResult result = recorded_;
  for (const auto& [key, inbox] : inboxes_) {
    const uint32_t recipient = static_cast<uint32_t>(key >> 32);
    const uint32_t channel = static_cast<uint32_t>(key & 0xffffffffu);
    const std::vector<uint32_t>& senders = channels_[channel].sender_by_seq;
    for (size_t seq = 1; seq < senders.size(); ++seq) {
      if (senders[seq] == 0 || senders[seq] - 1 == recipient) continue;
      ++result.expected;
      if (seq >= inbox.count.size() || inbox.count[seq] == 0) {
        ++result.lost;
        if (result.samples.size() < kMaxSamples) {
          result.samples.push_back(
              absl::StrCat("recipient ", recipient, " never got channel ", channel, " seq ", seq));
        }
      }
    }
  }
  return result;
}

}  // namespace im::load
