// The `ext` part of a message extension: a JSON object, size-limited, stored as its canonical dump
// (nlohmann::json with sorted keys, no whitespace), so equal objects are equal strings. A change
// replaces the object or is a JSON Merge Patch (RFC 7386) applied to it.
//
//   absl::StatusOr<nlohmann::json> patch = ParseExt(request.ext(), 16 * 1024);
//   absl::StatusOr<std::string> next = ApplyExt(stored_ext, *patch, SET_MODE_MERGE_PATCH, 16 *
//   1024);
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "im/extension/v1/extension.pb.h"

namespace im::extension {

// The stored ext of a message that only ever had its status set.
inline constexpr char kEmptyExt[] = "{}";

// `text` parsed as a JSON object of at most `max_bytes` bytes (as given). INVALID_ARGUMENT says
// which: too large, not JSON (with the parser's position), or not an object.
absl::StatusOr<nlohmann::json> ParseExt(std::string_view text, size_t max_bytes);

// The canonical dump of `ext` applied to `current` (a stored canonical object) by `mode`:
// REPLACE (and UNSPECIFIED) takes `ext` as the whole object, MERGE_PATCH merges it per RFC 7386
// (null removes a member, objects merge recursively, anything else replaces). INVALID_ARGUMENT
// when the result is larger than `max_bytes`.
absl::StatusOr<std::string> ApplyExt(std::string_view current, const nlohmann::json& ext,
                                     im::extension::v1::SetMode mode, size_t max_bytes);

// The top-level members whose values differ between two objects (added, removed or changed),
// in sorted order.
std::vector<std::string> ChangedMembers(const nlohmann::json& before, const nlohmann::json& after);

// The canonical dump of a JSON value.
std::string CanonicalDump(const nlohmann::json& value);

}  // namespace im::extension
