// The conversation sync cursor: what a client gets back is what it sent, for its own uid only.
#include "services/conversation/sync_cursor.h"

#include <gtest/gtest.h>

#include <string>

namespace im::conversation {
namespace {

using im::conversation::v1::SyncCursor;

TEST(SyncCursorTest, RoundTripsAndRefusesGarbageDamageAndOtherUsers) {
  SyncCursor cursor;
  cursor.set_uid("alice");
  cursor.set_state_version(42);
  cursor.add_recent()->set_last_seq(7);
  const std::string text = EncodeCursor(cursor);

  auto decoded = DecodeCursor(text, "alice");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->state_version(), 42);
  EXPECT_EQ(decoded->recent(0).last_seq(), 7);

  EXPECT_EQ(DecodeCursor(text, "bob").status().message(), "cursor belongs to another user");
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeCursor("not a cursor!", "alice").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeCursor("", "alice").status()));
  std::string damaged = text;
  damaged[damaged.size() / 2] = damaged[damaged.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeCursor(damaged, "alice").status()));
}

}  // namespace
}  // namespace im::conversation
