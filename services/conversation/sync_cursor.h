// The opaque cursor of ConversationService.Sync: a SyncCursor proto with a checksum, in URL-safe
// base64, so clients can store it anywhere. Garbage, a damaged cursor or another user's cursor is
// INVALID_ARGUMENT; the checksum catches damage, not forgery (a forged cursor can only make the
// owner's own sync return more or less).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "im/conversation/v1/cursor.pb.h"

namespace im::conversation {

// The longest cursor accepted.
inline constexpr size_t kMaxCursorBytes = 256 * 1024;

// 64-bit FNV-1a: stable across builds and machines, unlike absl::Hash.
uint64_t Fnv1a64(std::string_view data);

std::string EncodeCursor(const im::conversation::v1::SyncCursor& cursor);

// Decodes a cursor that must belong to `uid`.
absl::StatusOr<im::conversation::v1::SyncCursor> DecodeCursor(std::string_view text,
                                                              std::string_view uid);

}  // namespace im::conversation
