// The Redis half of the sequence service: hot counters that hand out values inside durably
// reserved blocks. Keys live under the `seq:` prefix with the channel as hash tag, so one
// channel's counters share a Redis Cluster slot.
//
// Every counter remembers the identity (run_id + replication id) of the Redis server that wrote
// it. A counter restored from an RDB/AOF file after a restart, or held by a replica promoted after
// a failover (or failback), carries another identity and is treated as missing: its values may be
// older than what was handed out before.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/redis_pool.h"
#include "services/sequence/counter_key.h"

namespace im::sequence {

class CounterCache {
 public:
  explicit CounterCache(RedisPool* redis) : redis_(redis) {}

  enum class Outcome { kAllocated, kMissing, kExhausted };
  struct Allocation {
    Outcome outcome = Outcome::kMissing;
    // With kAllocated: the last value of the range; the range is (last - count, last].
    int64_t last = 0;
  };

  // Takes counts[i] values of keys[i] when its block has room. Keys should be distinct; a key
  // without a valid counter reports kMissing, one whose block is used up kExhausted.
  absl::StatusOr<std::vector<Allocation>> Allocate(const std::vector<CounterKey>& keys,
                                                   const std::vector<int64_t>& counts);

  // Raises each counter's block limit to its block's end. A counter that is missing is created at
  // its block's start only where fresh[i] is true (the caller proved the block is the newest);
  // otherwise it stays missing. Returns, per block, whether the counter now covers it.
  absl::StatusOr<std::vector<bool>> Install(const std::vector<Block>& blocks,
                                            const std::vector<bool>& fresh);

 private:
  RedisPool* redis_;
};

}  // namespace im::sequence
