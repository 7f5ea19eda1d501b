// How one change meets the current extension of a message, apart from storage and threads:
// compare-and-set, last writer wins, the resulting value, and what clients (WebSocket requests
// relayed by the gateway) may change. Pure functions; the writer calls them under the channel's
// lock, in arrival order.
//
//   Decision d = Decide(current, change, {.max_ext_bytes = 16384});
//   if (d.verdict == Verdict::kApplied) store(d.next);
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "im/common/v1/common.pb.h"
#include "im/extension/v1/extension.pb.h"

namespace im::extension {

// A message's extension as a decision sees it.
struct ExtState {
  // False before the first applied change; the other fields are then the defaults.
  bool exists = false;
  int32_t status = 0;
  // Canonical JSON object.
  std::string ext = "{}";
  // The channel version of the last applied change; meaningless while version_pending.
  int64_t version = 0;
  // Changed earlier in the same batch, so its version is not handed out yet and no caller can
  // have seen it: a compare-and-set against it fails.
  bool version_pending = false;
  int64_t updated_ms = 0;
  std::string updated_by;
};

// One requested change, validated.
struct Change {
  std::optional<int32_t> status;
  // Unset: ext unchanged.
  std::optional<nlohmann::json> ext;
  im::extension::v1::SetMode mode = im::extension::v1::SET_MODE_REPLACE;
  std::optional<int64_t> expected_version;
  int64_t timestamp_ms = 0;
  std::string operator_uid;
  // Set for clients' requests: only these top-level ext members may change.
  const absl::flat_hash_set<std::string>* allowed_ext_fields = nullptr;
};

enum class Verdict {
  kApplied,
  // A change with a later (timestamp, operator_uid) already won; nothing changes.
  kOlder,
  // expected_version does not match; `status` is FAILED_PRECONDITION.
  kVersionMismatch,
  // The change is not allowed or its result is invalid; `status` says why.
  kRejected,
};

struct Decision {
  Verdict verdict = Verdict::kApplied;
  absl::Status status;
  // kApplied: the new value (version left for the caller to assign). Otherwise: the current one.
  ExtState next;
};

struct DecideOptions {
  size_t max_ext_bytes = 16 * 1024;
};

// Last writer wins: a change applies unless the current value's (updated_ms, updated_by) is
// strictly later than the change's (timestamp_ms, operator_uid), so every replica orders any two
// changes the same way; equal keys apply in arrival order. With expected_version the change is a
// compare-and-set instead: it applies exactly when the current version equals it (0 = no
// extension yet), whatever the timestamps, and its stamp is raised to the current one if older so
// a message's stamps never go back. A client's change may touch only the allowed ext members
// (PERMISSION_DENIED naming the first other one); a result over max_ext_bytes is
// INVALID_ARGUMENT.
Decision Decide(const ExtState& current, const Change& change, const DecideOptions& options);

// What configuration opens to clients. Default: nothing.
struct ClientPolicy {
  // Channel types clients may set extensions on; empty = none.
  absl::flat_hash_set<int> channel_types;
  // Whether clients may set `status`.
  bool status = false;
  // Top-level ext members clients may change.
  absl::flat_hash_set<std::string> ext_fields;
};

// The checks a client's request passes before it is queued (membership and the changed ext
// members are checked later): PERMISSION_DENIED when the channel type is closed to clients or it
// sets a status clients may not set.
absl::Status CheckClientRequest(const ClientPolicy& policy, im::common::v1::ChannelType type,
                                bool sets_status);

// Parses a comma-separated list of channel types ("person,group", case-insensitive, empty =
// none); INVALID_ARGUMENT names an unknown one.
absl::StatusOr<absl::flat_hash_set<int>> ParseChannelTypes(std::string_view list);

}  // namespace im::extension
