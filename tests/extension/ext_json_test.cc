// ext validation, the canonical form, RFC 7386 merge patches and changed-member detection.
#include "services/extension/ext_json.h"

#include <gtest/gtest.h>

#include <string>

namespace im::extension {
namespace {

using im::extension::v1::SET_MODE_MERGE_PATCH;
using im::extension::v1::SET_MODE_REPLACE;
using im::extension::v1::SET_MODE_UNSPECIFIED;

TEST(ParseExt, AcceptsObjectsOnly) {
  EXPECT_TRUE(ParseExt(R"({"a":1})", 100).ok());
  EXPECT_TRUE(ParseExt("{}", 100).ok());
  for (const char* bad : {"[1,2]", "\"text\"", "42", "null", "true"}) {
    absl::StatusOr<nlohmann::json> parsed = ParseExt(bad, 100);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("must be a JSON object"), std::string::npos)
        << parsed.status();
  }
}

TEST(ParseExt, RejectsBadJsonWithPosition) {
  for (const char* bad : {"{", R"({"a":})", "{'a':1}", "", R"({"a":1} x)", "{\"a\":\"\xff\"}"}) {
    absl::StatusOr<nlohmann::json> parsed = ParseExt(bad, 100);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("not valid JSON"), std::string::npos)
        << parsed.status();
  }
}

TEST(ParseExt, EnforcesTheSizeLimitOnInput) {
  const std::string big = R"({"a":")" + std::string(100, 'x') + R"("})";
  EXPECT_TRUE(ParseExt(big, big.size()).ok());
  absl::StatusOr<nlohmann::json> parsed = ParseExt(big, big.size() - 1);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("limit"), std::string::npos);
}

TEST(ApplyExt, ReplaceStoresTheCanonicalDump) {
  absl::StatusOr<std::string> out =
      ApplyExt(R"({"old":true})", nlohmann::json::parse(R"({ "b" : 2, "a" : [1, {"z":0,"y":1}] })"),
               SET_MODE_REPLACE, 1000);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, R"({"a":[1,{"y":1,"z":0}],"b":2})");
  out =
      ApplyExt(R"({"old":true})", nlohmann::json::parse(R"({"x":1})"), SET_MODE_UNSPECIFIED, 1000);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, R"({"x":1})");
}

// The examples of RFC 7386 appendix A whose patch is an object.
TEST(ApplyExt, MergePatchFollowsRfc7386) {
  struct Case {
    const char* target;
    const char* patch;
    const char* result;
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
           {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
           {R"({"a":"b"})", R"({"a":null})", R"({})"},
           {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
           {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
           {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
           {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
           {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
           {R"({"e":null})", R"({"a":1})", R"({"a":1,"e":null})"},
           {"{}", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
       }) {
    absl::StatusOr<std::string> out =
        ApplyExt(c.target, nlohmann::json::parse(c.patch), SET_MODE_MERGE_PATCH, 1000);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(*out, c.result) << c.target << " + " << c.patch;
  }
}

TEST(ApplyExt, EnforcesTheSizeLimitOnTheResult) {
  const std::string current = R"({"a":")" + std::string(40, 'x') + R"("})";
  const nlohmann::json patch = nlohmann::json::parse(R"({"b":")" + std::string(40, 'y') + R"("})");
  EXPECT_TRUE(ApplyExt(current, patch, SET_MODE_MERGE_PATCH, 200).ok());
  absl::StatusOr<std::string> out = ApplyExt(current, patch, SET_MODE_MERGE_PATCH, 80);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("after this change"), std::string::npos);
}

TEST(ChangedMembers, AddedRemovedAndChanged) {
  const auto changed = ChangedMembers(nlohmann::json::parse(R"({"a":1,"b":{"x":1},"c":3})"),
                                      nlohmann::json::parse(R"({"a":1,"b":{"x":2},"d":4})"));
  EXPECT_EQ(changed, (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_TRUE(
      ChangedMembers(nlohmann::json::parse(R"({"a":[1]})"), nlohmann::json::parse(R"({"a":[1]})"))
          .empty());
}

}  // namespace
}  // namespace im::extension
