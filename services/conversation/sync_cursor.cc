#include "services/conversation/sync_cursor.h"

#include "absl/strings/escaping.h"
#include "common/string_view.h"

namespace im::conversation {
namespace {

constexpr size_t kChecksumBytes = 8;

void AppendChecksum(std::string* data) {
  uint64_t sum = Fnv1a64(*data);
  for (size_t i = 0; i < kChecksumBytes; ++i) {
    data->push_back(static_cast<char>(sum & 0xff));
    sum >>= 8;
  }
}

}  // namespace

uint64_t Fnv1a64(std::string_view data) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string EncodeCursor(const im::conversation::v1::SyncCursor& cursor) {
  std::string data = cursor.SerializeAsString();
  AppendChecksum(&data);
  return absl::WebSafeBase64Escape(data);
}

absl::StatusOr<im::conversation::v1::SyncCursor> DecodeCursor(std::string_view text,
                                                              std::string_view uid) {
  const absl::Status invalid = absl::InvalidArgumentError("cursor is not a valid sync cursor");
  if (text.size() > kMaxCursorBytes) return invalid;
  std::string data;
  if (!absl::WebSafeBase64Unescape(AbslView(text), &data) || data.size() < kChecksumBytes) {
    return invalid;
  }
  std::string body = data.substr(0, data.size() - kChecksumBytes);
  std::string expected = body;
  AppendChecksum(&expected);
  im::conversation::v1::SyncCursor cursor;
  if (expected != data || !cursor.ParseFromString(body)) return invalid;
  if (cursor.uid() != uid) {
    return absl::InvalidArgumentError("cursor belongs to another user");
  }
  return cursor;
}

}  // namespace im::conversation
