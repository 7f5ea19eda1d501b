// 64-bit message ids, unique across all message-service processes without coordination per id:
// 41 bits of milliseconds since 2024-01-01 UTC, 10 bits of node id (leased, see node_lease.h) and
// 12 bits of counter within the millisecond. Ids of one process increase; they never go back when
// the wall clock does.
//
//   IdGenerator ids(lease.get());
//   absl::StatusOr<std::vector<uint64_t>> batch = ids.Next(50);
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "services/message/node_lease.h"

namespace im::message {

class IdGenerator {
 public:
  // 2024-01-01T00:00:00Z in Unix ms.
  static constexpr int64_t kEpochMs = 1704067200000;
  static constexpr int kNodeBits = 10;
  static constexpr int kCounterBits = 12;

  explicit IdGenerator(NodeLease* lease);

  // `count` new ids in increasing order. UNAVAILABLE when the node lease may have expired.
  absl::StatusOr<std::vector<uint64_t>> Next(size_t count);

  // The Unix ms and node id an id was minted with.
  static int64_t UnixMsOf(uint64_t id) { return static_cast<int64_t>(id >> 22) + kEpochMs; }
  static int NodeOf(uint64_t id) { return static_cast<int>((id >> kCounterBits) & 1023); }

 private:
  uint64_t NextLocked();

  NodeLease* lease_;
  std::mutex mu_;
  // Milliseconds since kEpochMs of the last id, and the counter used in it.
  int64_t last_ms_;
  int64_t counter_;
};

}  // namespace im::message
