// Set decisions (last writer wins, compare-and-set, results) and what clients may change.
#include "services/extension/set_rules.h"

#include <gtest/gtest.h>

namespace im::extension {
namespace {

using im::extension::v1::SET_MODE_MERGE_PATCH;

ExtState Existing(int64_t version, int64_t updated_ms, const std::string& by,
                  const std::string& ext = R"({"a":1})", int32_t status = 1) {
  return ExtState{.exists = true,
                  .status = status,
                  .ext = ext,
                  .version = version,
                  .version_pending = false,
                  .updated_ms = updated_ms,
                  .updated_by = by};
}

Change StatusChange(int32_t status, int64_t ts, const std::string& by) {
  Change change;
  change.status = status;
  change.timestamp_ms = ts;
  change.operator_uid = by;
  return change;
}

TEST(Decide, FirstChangeCreatesTheValue) {
  Change change = StatusChange(2, 1000, "u1");
  change.ext = nlohmann::json::parse(R"({"k":"v"})");
  Decision d = Decide(ExtState{}, change, {});
  ASSERT_EQ(d.verdict, Verdict::kApplied);
  EXPECT_TRUE(d.next.exists);
  EXPECT_EQ(d.next.status, 2);
  EXPECT_EQ(d.next.ext, R"({"k":"v"})");
  EXPECT_EQ(d.next.updated_ms, 1000);
  EXPECT_EQ(d.next.updated_by, "u1");
}

TEST(Decide, StatusOnlyKeepsExtAndExtOnlyKeepsStatus) {
  Decision d = Decide(Existing(3, 1000, "u1"), StatusChange(7, 2000, "u2"), {});
  ASSERT_EQ(d.verdict, Verdict::kApplied);
  EXPECT_EQ(d.next.status, 7);
  EXPECT_EQ(d.next.ext, R"({"a":1})");
  Change ext_only;
  ext_only.ext = nlohmann::json::parse(R"({"b":2})");
  ext_only.mode = SET_MODE_MERGE_PATCH;
  ext_only.timestamp_ms = 3000;
  d = Decide(Existing(3, 1000, "u1"), ext_only, {});
  ASSERT_EQ(d.verdict, Verdict::kApplied);
  EXPECT_EQ(d.next.status, 1);
  EXPECT_EQ(d.next.ext, R"({"a":1,"b":2})");
}

TEST(Decide, LastWriterWinsByTimestampThenOperator) {
  const ExtState current = Existing(5, 2000, "m");
  EXPECT_EQ(Decide(current, StatusChange(9, 1999, "z"), {}).verdict, Verdict::kOlder);
  EXPECT_EQ(Decide(current, StatusChange(9, 2001, "a"), {}).verdict, Verdict::kApplied);
  // Same timestamp: the operator uid breaks the tie, the same way on every replica.
  EXPECT_EQ(Decide(current, StatusChange(9, 2000, "a"), {}).verdict, Verdict::kOlder);
  EXPECT_EQ(Decide(current, StatusChange(9, 2000, "z"), {}).verdict, Verdict::kApplied);
  // The same key again (a retry) applies in arrival order.
  EXPECT_EQ(Decide(current, StatusChange(9, 2000, "m"), {}).verdict, Verdict::kApplied);
}

TEST(Decide, AnOlderChangeReturnsTheWinnerUnchanged) {
  const ExtState current = Existing(5, 2000, "m", R"({"w":1})", 4);
  Decision d = Decide(current, StatusChange(9, 1000, "z"), {});
  ASSERT_EQ(d.verdict, Verdict::kOlder);
  EXPECT_TRUE(d.status.ok());
  EXPECT_EQ(d.next.status, 4);
  EXPECT_EQ(d.next.ext, R"({"w":1})");
  EXPECT_EQ(d.next.version, 5);
  EXPECT_EQ(d.next.updated_by, "m");
}

// Whatever order two changes arrive in, the result is the same.
TEST(Decide, ConvergesWhateverTheArrivalOrder) {
  const Change a = StatusChange(1, 1500, "alice");
  const Change b = StatusChange(2, 1500, "bob");
  ExtState ab = Decide(Decide(ExtState{}, a, {}).next, b, {}).next;
  ExtState ba_first = Decide(ExtState{}, b, {}).next;
  Decision ba = Decide(ba_first, a, {});
  ExtState ba_state = ba.verdict == Verdict::kApplied ? ba.next : ba_first;
  EXPECT_EQ(ab.status, ba_state.status);
  EXPECT_EQ(ab.updated_by, ba_state.updated_by);
  EXPECT_EQ(ab.status, 2);
}

TEST(Decide, CompareAndSet) {
  const ExtState current = Existing(5, 2000, "m");
  Change change = StatusChange(8, 1000, "c");
  change.expected_version = 5;
  // Applies although its timestamp is older, and the stamp does not go back.
  Decision d = Decide(current, change, {});
  ASSERT_EQ(d.verdict, Verdict::kApplied);
  EXPECT_EQ(d.next.status, 8);
  EXPECT_EQ(d.next.updated_ms, 2000);
  EXPECT_EQ(d.next.updated_by, "c");

  change.expected_version = 4;
  d = Decide(current, change, {});
  ASSERT_EQ(d.verdict, Verdict::kVersionMismatch);
  EXPECT_EQ(d.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(d.next.version, 5);
  EXPECT_EQ(d.next.status, 1);

  change.expected_version = 0;
  EXPECT_EQ(Decide(current, change, {}).verdict, Verdict::kVersionMismatch);
  EXPECT_EQ(Decide(ExtState{}, change, {}).verdict, Verdict::kApplied);
  change.expected_version = 1;
  EXPECT_EQ(Decide(ExtState{}, change, {}).verdict, Verdict::kVersionMismatch);
}

TEST(Decide, CompareAndSetFailsAgainstAVersionNotHandedOutYet) {
  ExtState pending = Existing(5, 2000, "m");
  pending.version_pending = true;
  Change change = StatusChange(8, 3000, "c");
  change.expected_version = 5;
  EXPECT_EQ(Decide(pending, change, {}).verdict, Verdict::kVersionMismatch);
}

TEST(Decide, RejectsAResultOverTheLimit) {
  Change change;
  change.ext = nlohmann::json::parse(R"({"b":")" + std::string(50, 'x') + R"("})");
  change.mode = SET_MODE_MERGE_PATCH;
  change.timestamp_ms = 5000;
  const ExtState current = Existing(1, 1000, "m", R"({"a":")" + std::string(50, 'y') + R"("})");
  Decision d = Decide(current, change, {.max_ext_bytes = 100});
  ASSERT_EQ(d.verdict, Verdict::kRejected);
  EXPECT_EQ(d.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.next.ext, current.ext);
}

TEST(Decide, ClientsChangeOnlyAllowedMembers) {
  const absl::flat_hash_set<std::string> allowed = {"votes"};
  const ExtState current = Existing(1, 1000, "m", R"({"title":"t","votes":1})");
  Change change;
  change.timestamp_ms = 2000;
  change.operator_uid = "u";
  change.allowed_ext_fields = &allowed;
  change.mode = SET_MODE_MERGE_PATCH;
  change.ext = nlohmann::json::parse(R"({"votes":2})");
  EXPECT_EQ(Decide(current, change, {}).verdict, Verdict::kApplied);
  // Re-sending an unchanged disallowed member is no change to it.
  change.ext = nlohmann::json::parse(R"({"votes":3,"title":"t"})");
  EXPECT_EQ(Decide(current, change, {}).verdict, Verdict::kApplied);
  change.ext = nlohmann::json::parse(R"({"title":null})");
  Decision d = Decide(current, change, {});
  ASSERT_EQ(d.verdict, Verdict::kRejected);
  EXPECT_EQ(d.status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(d.status.message().find("title"), std::string::npos);
  // A replace dropping the disallowed member touches it too.
  change.mode = im::extension::v1::SET_MODE_REPLACE;
  change.ext = nlohmann::json::parse(R"({"votes":9})");
  EXPECT_EQ(Decide(current, change, {}).verdict, Verdict::kRejected);
}

TEST(ClientPolicy, DefaultDeniesEverything) {
  const ClientPolicy policy;
  EXPECT_EQ(CheckClientRequest(policy, im::common::v1::CHANNEL_TYPE_GROUP, false).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckClientRequest(policy, im::common::v1::CHANNEL_TYPE_PERSON, false).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ClientPolicy, ChannelTypesAndStatus) {
  ClientPolicy policy;
  policy.channel_types = {im::common::v1::CHANNEL_TYPE_GROUP};
  EXPECT_TRUE(CheckClientRequest(policy, im::common::v1::CHANNEL_TYPE_GROUP, false).ok());
  absl::Status s = CheckClientRequest(policy, im::common::v1::CHANNEL_TYPE_PERSON, false);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find("person"), std::string::npos) << s;
  EXPECT_EQ(CheckClientRequest(policy, im::common::v1::CHANNEL_TYPE_GROUP, true).code(),
            absl::StatusCode::kPermissionDenied);
  policy.status = true;
  EXPECT_TRUE(CheckClientRequest(policy, im::common::v1::CHANNEL_TYPE_GROUP, true).ok());
}

TEST(ClientPolicy, ParseChannelTypes) {
  absl::StatusOr<absl::flat_hash_set<int>> types = ParseChannelTypes(" Person, group ");
  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_EQ(types->size(), 2u);
  EXPECT_TRUE(types->contains(im::common::v1::CHANNEL_TYPE_PERSON));
  types = ParseChannelTypes("");
  ASSERT_TRUE(types.ok());
  EXPECT_TRUE(types->empty());
  EXPECT_EQ(ParseChannelTypes("group,room").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace im::extension
