#include "services/sequence/sequencer.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace im::sequence {
namespace {

constexpr size_t kMaxIdBytes = 255;

absl::Status CheckKind(int kind) {
  if (kind < kMessageSeq || kind > kRedDot) {
    return absl::InvalidArgumentError(absl::StrCat("unknown counter kind ", kind));
  }
  return absl::OkStatus();
}

template <typename T>
std::vector<T> Pick(const std::vector<T>& values, const std::vector<size_t>& indexes) {
  std::vector<T> out;
  out.reserve(indexes.size());
  for (size_t i : indexes) out.push_back(values[i]);
  return out;
}

// INVALID_ARGUMENT unless `id` is 1..255 bytes without control characters; `what` names the field.
absl::Status CheckId(const std::string& id, const char* what) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " must not be empty"));
  if (id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", id.size(), " bytes, the limit is ", kMaxIdBytes));
  }
  for (char c : id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(what, " contains a control character"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Sequencer::Sequencer(SequenceStore* store, CounterCache* cache, Options options)
    : store_(store), cache_(cache), options_(options) {}

absl::Status Sequencer::CheckChannels(const std::vector<std::string>& channels) const {
  if (channels.empty()) return absl::InvalidArgumentError("no channels given");
  if (channels.size() > options_.max_batch) {
    return absl::InvalidArgumentError(
        absl::StrCat(channels.size(), " channels in one call, the limit is ", options_.max_batch));
  }
  for (const std::string& channel : channels) {
    if (absl::Status s = CheckId(channel, "channel"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SeqRange>> Sequencer::Allocate(const std::vector<AllocateItem>& items) {
  if (items.empty()) return absl::InvalidArgumentError("no items to allocate");
  if (items.size() > options_.max_batch) {
    return absl::InvalidArgumentError(
        absl::StrCat(items.size(), " items in one call, the limit is ", options_.max_batch));
  }
  // One Redis call per distinct counter: the counter's items are then cut from one range in
  // request order, which keeps them consecutive.
  std::vector<CounterKey> keys;
  std::vector<int64_t> totals;
  std::vector<size_t> key_of_item;
  key_of_item.reserve(items.size());
  absl::flat_hash_map<CounterKey, size_t> index;
  for (const AllocateItem& item : items) {
    if (absl::Status s = CheckId(item.channel, "channel"); !s.ok()) return s;
    if (absl::Status s = CheckKind(item.kind); !s.ok()) return s;
    if (item.count < 1 || item.count > options_.max_count) {
      return absl::InvalidArgumentError(absl::StrCat("count must be 1..", options_.max_count,
                                                     ", got ", item.count, " for ", item.channel));
    }
    CounterKey key{item.channel, item.kind};
    auto [it, inserted] = index.try_emplace(key, keys.size());
    if (inserted) {
      keys.push_back(std::move(key));
      totals.push_back(0);
    }
    totals[it->second] += item.count;
    key_of_item.push_back(it->second);
  }

  std::vector<int64_t> lasts(keys.size());
  std::vector<size_t> pending(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) pending[i] = i;
  for (int attempt = 0; attempt < options_.max_attempts && !pending.empty(); ++attempt) {
    absl::StatusOr<std::vector<CounterCache::Allocation>> allocations =
        cache_->Allocate(Pick(keys, pending), Pick(totals, pending));
    if (!allocations.ok()) return allocations.status();
    std::vector<size_t> refill;
    std::vector<bool> missing;
    for (size_t j = 0; j < pending.size(); ++j) {
      const CounterCache::Allocation& a = (*allocations)[j];
      if (a.outcome == CounterCache::Outcome::kAllocated) {
        lasts[pending[j]] = a.last;
      } else {
        refill.push_back(pending[j]);
        missing.push_back(a.outcome == CounterCache::Outcome::kMissing);
      }
    }
    if (!refill.empty()) {
      if (absl::Status s = Refill(Pick(keys, refill), Pick(totals, refill), missing); !s.ok()) {
        return s;
      }
    }
    pending = std::move(refill);
  }
  if (!pending.empty()) {
    return absl::UnavailableError("counter blocks kept being taken by other allocators; retry");
  }

  std::vector<int64_t> cursor(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) cursor[k] = lasts[k] - totals[k];
  std::vector<SeqRange> ranges;
  ranges.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    int64_t& at = cursor[key_of_item[i]];
    ranges.push_back(SeqRange{at + 1, at + items[i].count});
    at += items[i].count;
  }
  return ranges;
}

absl::Status Sequencer::Refill(const std::vector<CounterKey>& keys,
                               const std::vector<int64_t>& needs,
                               const std::vector<bool>& missing) {
  std::vector<int64_t> sizes;
  sizes.reserve(needs.size());
  for (int64_t need : needs) sizes.push_back(std::max(options_.block_size, need));
  absl::StatusOr<std::vector<Block>> blocks = store_->ReserveBlocks(keys, sizes);
  if (!blocks.ok()) return blocks.status();

  std::vector<Block> extend;
  std::vector<Block> create;
  for (size_t i = 0; i < blocks->size(); ++i) {
    (missing[i] ? create : extend).push_back((*blocks)[i]);
  }
  // A live counter only has its limit raised: every value below the limit is reserved, and the
  // counter is past everything it handed out. If it vanished meanwhile it stays missing, and the
  // next round takes the path below.
  if (!extend.empty()) {
    absl::StatusOr<std::vector<bool>> covered =
        cache_->Install(extend, std::vector<bool>(extend.size(), false));
    if (!covered.ok()) return covered.status();
  }
  // A counter is created at its block's start only while no newer block exists: a creator that
  // lost the race would otherwise restart the counter below values handed out from a newer block.
  // Its block is then abandoned, leaving a gap but never a repeat.
  if (!create.empty()) {
    std::vector<CounterKey> create_keys;
    for (const Block& block : create) create_keys.push_back(block.key);
    return store_->WithReservedLocked(create_keys, [&](const std::vector<int64_t>& reserved) {
      std::vector<bool> newest;
      for (size_t i = 0; i < create.size(); ++i) {
        newest.push_back(reserved[i] == create[i].reserved_after);
      }
      return cache_->Install(create, newest).status();
    });
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> Sequencer::GetMaxSeqs(const std::vector<std::string>& channels,
                                                           int kind) {
  if (absl::Status s = CheckChannels(channels); !s.ok()) return s;
  if (absl::Status s = CheckKind(kind); !s.ok()) return s;
  std::vector<CounterKey> keys;
  keys.reserve(channels.size());
  for (const std::string& channel : channels) keys.push_back(CounterKey{channel, kind});
  std::vector<int64_t> out(keys.size());
  std::vector<size_t> pending(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) pending[i] = i;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    absl::StatusOr<std::vector<std::optional<int64_t>>> live = cache_->Peek(Pick(keys, pending));
    if (!live.ok()) return live.status();
    std::vector<size_t> cold;
    for (size_t j = 0; j < pending.size(); ++j) {
      if ((*live)[j].has_value()) {
        out[pending[j]] = *(*live)[j];
      } else {
        cold.push_back(pending[j]);
      }
    }
    if (cold.empty()) return out;
    // A lost counter is recreated, empty, at its reserved mark before anything is reported: the
    // mark is at or above every value handed out, but reporting it without creating the counter
    // could be followed by a creator in flight restarting the counter lower, and the answer would
    // go back. A counter never reserved is reported as 0 and nothing is created.
    const std::vector<CounterKey> cold_keys = Pick(keys, cold);
    std::vector<size_t> created;
    absl::Status status =
        store_->WithReservedLocked(cold_keys, [&](const std::vector<int64_t>& reserved) {
          std::vector<Block> empty_blocks;
          for (size_t j = 0; j < cold.size(); ++j) {
            if (reserved[j] == 0) {
              out[cold[j]] = 0;
            } else {
              empty_blocks.push_back(Block{cold_keys[j], reserved[j], reserved[j]});
              created.push_back(cold[j]);
            }
          }
          if (empty_blocks.empty()) return absl::OkStatus();
          return cache_->Install(empty_blocks, std::vector<bool>(empty_blocks.size(), true))
              .status();
        });
    if (!status.ok()) return status;
    if (created.empty()) return out;
    pending = std::move(created);
  }
  return absl::UnavailableError("counters kept vanishing from Redis while being read; retry");
}

absl::StatusOr<int64_t> Sequencer::SetReadSeq(const std::string& uid, const std::string& channel,
                                              int64_t seq) {
  if (absl::Status s = CheckId(uid, "uid"); !s.ok()) return s;
  if (absl::Status s = CheckId(channel, "channel"); !s.ok()) return s;
  if (seq < 0) return absl::InvalidArgumentError(absl::StrCat("read seq must be >= 0, got ", seq));
  absl::StatusOr<std::vector<int64_t>> max = GetMaxSeqs({channel}, kMessageSeq);
  if (!max.ok()) return max.status();
  if (seq > (*max)[0]) {
    return absl::InvalidArgumentError(absl::StrCat("read seq ", seq, " is above the max seq ",
                                                   (*max)[0], " of channel ", channel));
  }
  absl::StatusOr<int64_t> stored = store_->AdvanceReadSeq(uid, channel, seq);
  if (!stored.ok()) return stored.status();
  // Postgres has the new value; a failed cache write is reported so the caller retries, which is
  // harmless because the update is idempotent.
  if (absl::Status s = cache_->RaiseReadSeqs(uid, {channel}, {*stored}); !s.ok()) return s;
  return *stored;
}

absl::StatusOr<std::vector<int64_t>> Sequencer::GetReadSeqs(
    const std::string& uid, const std::vector<std::string>& channels) {
  if (absl::Status s = CheckId(uid, "uid"); !s.ok()) return s;
  if (absl::Status s = CheckChannels(channels); !s.ok()) return s;
  absl::StatusOr<std::vector<std::optional<int64_t>>> cached = cache_->GetReadSeqs(uid, channels);
  // Read seqs are durable in Postgres, so a Redis outage only costs this call the cache.
  if (!cached.ok()) return store_->GetReadSeqs(uid, channels);

  std::vector<size_t> misses;
  std::vector<int64_t> out(channels.size());
  for (size_t i = 0; i < channels.size(); ++i) {
    if ((*cached)[i].has_value()) {
      out[i] = *(*cached)[i];
    } else {
      misses.push_back(i);
    }
  }
  if (misses.empty()) return out;
  const std::vector<std::string> missed = Pick(channels, misses);
  absl::StatusOr<std::vector<int64_t>> stored = store_->GetReadSeqs(uid, missed);
  if (!stored.ok()) return stored.status();
  for (size_t j = 0; j < misses.size(); ++j) out[misses[j]] = (*stored)[j];
  // A failed fill only means the next call reads Postgres again.
  cache_->RaiseReadSeqs(uid, missed, *stored).IgnoreError();
  return out;
}

absl::StatusOr<std::vector<ChannelSeqs>> Sequencer::GetChannelSeqs(
    const std::string& uid, const std::vector<std::string>& channels) {
  absl::StatusOr<std::vector<int64_t>> reads = GetReadSeqs(uid, channels);
  if (!reads.ok()) return reads.status();
  absl::StatusOr<std::vector<int64_t>> maxes = GetMaxSeqs(channels, kMessageSeq);
  if (!maxes.ok()) return maxes.status();
  std::vector<ChannelSeqs> out;
  out.reserve(channels.size());
  for (size_t i = 0; i < channels.size(); ++i) {
    out.push_back(ChannelSeqs{channels[i], (*maxes)[i], (*reads)[i]});
  }
  return out;
}

}  // namespace im::sequence
