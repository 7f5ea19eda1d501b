#include "services/sequence/sequencer.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace im::sequence {
namespace {

constexpr size_t kMaxChannelBytes = 255;

absl::Status CheckKind(int kind) {
  if (kind < kMessageSeq || kind > kExtensionVersion) {
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

// INVALID_ARGUMENT unless `channel` is 1..255 bytes without control characters.
absl::Status CheckChannel(const std::string& channel) {
  if (channel.empty()) return absl::InvalidArgumentError("channel must not be empty");
  if (channel.size() > kMaxChannelBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("channel is ", channel.size(), " bytes, the limit is ", kMaxChannelBytes));
  }
  for (char c : channel) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("channel contains a control character");
    }
  }
  return absl::OkStatus();
}

}  // namespace

Sequencer::Sequencer(SequenceStore* store, CounterCache* cache, Options options)
    : store_(store), cache_(cache), options_(options) {}

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
    if (absl::Status s = CheckChannel(item.channel); !s.ok()) return s;
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

}  // namespace im::sequence
