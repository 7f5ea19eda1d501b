// The sequence service's logic, apart from gRPC: allocation of per-channel counters that never
// repeat or go back (DESIGN.md invariant 2).
//
// Values are handed out by Redis inside blocks reserved in Postgres beforehand. While Redis keeps
// its data, a counter continues exactly where it was; when Redis loses it (flush, restart,
// failover), the counter restarts above the newest reserved block, which is above every value
// handed out. Postgres is touched once per block, not per value.
//
//   Sequencer sequencer(&store, &cache, {});
//   absl::StatusOr<std::vector<SeqRange>> ranges = sequencer.Allocate({{"g:42", kMessageSeq, 3}});
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/sequence/counter_cache.h"
#include "services/sequence/sequence_store.h"

namespace im::sequence {

// Mirrors im.sequence.v1.CounterKind.
enum CounterKind : int { kMessageSeq = 0, kExtensionVersion = 1 };

struct AllocateItem {
  std::string channel;
  int kind = kMessageSeq;
  int64_t count = 1;
};

struct SeqRange {
  int64_t first = 0;
  int64_t last = 0;
};

class Sequencer {
 public:
  struct Options {
    // Values reserved in Postgres per round trip; a bigger block means fewer writes and a bigger
    // jump after Redis loses its data.
    int64_t block_size = 1000;
    int64_t max_count = 10000;
    size_t max_batch = 4096;
    // Rounds of reserve-and-retry before giving up when other allocators keep taking the blocks.
    int max_attempts = 8;
  };

  Sequencer(SequenceStore* store, CounterCache* cache, Options options);

  // Ranges in item order; items of the same counter get consecutive ranges in item order.
  // INVALID_ARGUMENT for an empty/oversized batch, a bad channel, kind or count; UNAVAILABLE when
  // Redis (or, when a new block is needed, Postgres) does not answer. Never a repeated value.
  absl::StatusOr<std::vector<SeqRange>> Allocate(const std::vector<AllocateItem>& items);

 private:
  // Reserves a block for each key and makes Redis use it.
  absl::Status Refill(const std::vector<CounterKey>& keys, const std::vector<int64_t>& needs,
                      const std::vector<bool>& missing);

  SequenceStore* store_;
  CounterCache* cache_;
  Options options_;
};

}  // namespace im::sequence
