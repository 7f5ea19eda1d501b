// Identifies one counter: a channel and a counter kind (message seq, extension version).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>

#include "absl/hash/hash.h"

namespace im::sequence {

struct CounterKey {
  std::string channel;
  int kind = 0;

  friend bool operator==(const CounterKey& a, const CounterKey& b) {
    return a.kind == b.kind && a.channel == b.channel;
  }
  friend bool operator<(const CounterKey& a, const CounterKey& b) {
    return std::tie(a.channel, a.kind) < std::tie(b.channel, b.kind);
  }
  template <typename H>
  friend H AbslHashValue(H h, const CounterKey& key) {
    return H::combine(std::move(h), key.channel, key.kind);
  }
};

// A durably reserved block: the values (reserved_before, reserved_after] of `key`.
struct Block {
  CounterKey key;
  int64_t reserved_before = 0;
  int64_t reserved_after = 0;
};

}  // namespace im::sequence
