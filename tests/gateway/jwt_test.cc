#include "services/gateway/jwt.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/reason_codes.h"

namespace im::gateway {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);
constexpr char kSecret[] = "s3cret";

TEST(JwtTest, AcceptsAValidToken) {
  const std::string token =
      SignHs256Jwt(R"({"sub":"alice","exp":1700000060,"device_flag":2})", kSecret);
  ASSERT_TRUE(LooksLikeJwt(token));
  absl::StatusOr<JwtClaims> claims = VerifyHs256Jwt(token, kSecret, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->sub, "alice");
  EXPECT_EQ(claims->exp, 1700000060);
  EXPECT_EQ(claims->device_flag, 2);
}

TEST(JwtTest, ClaimsAreOptionalButSub) {
  absl::StatusOr<JwtClaims> claims =
      VerifyHs256Jwt(SignHs256Jwt(R"({"sub":"bob"})", kSecret), kSecret, kNow);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_FALSE(claims->exp.has_value());
  EXPECT_EQ(claims->device_flag, 0);
  EXPECT_EQ(
      VerifyHs256Jwt(SignHs256Jwt(R"({"exp":1700000060})", kSecret), kSecret, kNow).status().code(),
      absl::StatusCode::kUnauthenticated);
}

TEST(JwtTest, RejectsAnotherSecret) {
  absl::StatusOr<JwtClaims> claims =
      VerifyHs256Jwt(SignHs256Jwt(R"({"sub":"alice"})", "other"), kSecret, kNow);
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonFor(claims.status()), im::common::v1::REASON_CODE_AUTH_FAILED);
}

TEST(JwtTest, RejectsATamperedPayload) {
  const std::string token = SignHs256Jwt(R"({"sub":"alice"})", kSecret);
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  parts[1] = absl::WebSafeBase64Escape(R"({"sub":"admin"})");
  EXPECT_EQ(VerifyHs256Jwt(absl::StrJoin(parts, "."), kSecret, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(JwtTest, ExpiredIsTokenExpired) {
  absl::StatusOr<JwtClaims> claims =
      VerifyHs256Jwt(SignHs256Jwt(R"({"sub":"alice","exp":1700000000})", kSecret), kSecret, kNow);
  EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ReasonFor(claims.status()), im::common::v1::REASON_CODE_TOKEN_EXPIRED);
}

TEST(JwtTest, NotYetValidIsRejected) {
  EXPECT_FALSE(
      VerifyHs256Jwt(SignHs256Jwt(R"({"sub":"alice","nbf":1700000100})", kSecret), kSecret, kNow)
          .ok());
}

TEST(JwtTest, RejectsAlgNone) {
  const std::string header = absl::WebSafeBase64Escape(R"({"alg":"none","typ":"JWT"})");
  const std::string payload = absl::WebSafeBase64Escape(R"({"sub":"alice"})");
  EXPECT_EQ(VerifyHs256Jwt(absl::StrCat(header, ".", payload, "."), kSecret, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyHs256Jwt(absl::StrCat(header, ".", payload, ".x"), kSecret, kNow).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(JwtTest, RejectsAnotherAlgorithmEvenWithAValidHmac) {
  // The HMAC is right, but a header naming another algorithm must not be honoured.
  const std::string signing_input =
      absl::StrCat(absl::WebSafeBase64Escape(R"({"alg":"HS512"})"), ".",
                   absl::WebSafeBase64Escape(R"({"sub":"alice"})"));
  const std::string reference = SignHs256Jwt(R"({"sub":"alice"})", kSecret);
  EXPECT_FALSE(
      VerifyHs256Jwt(absl::StrCat(signing_input, ".", reference.substr(reference.rfind('.') + 1)),
                     kSecret, kNow)
          .ok());
}

TEST(JwtTest, RejectsGarbage) {
  for (const char* token : {"", "a.b", "a.b.c", "!!.??.**", "e30.e30.e30", "a.b.c.d"}) {
    EXPECT_FALSE(VerifyHs256Jwt(token, kSecret, kNow).ok()) << token;
  }
  EXPECT_FALSE(LooksLikeJwt("plain-token"));
  EXPECT_FALSE(LooksLikeJwt("a..c"));
}

TEST(JwtTest, RejectsNonNumericExp) {
  EXPECT_FALSE(
      VerifyHs256Jwt(SignHs256Jwt(R"({"sub":"alice","exp":"never"})", kSecret), kSecret, kNow)
          .ok());
}

}  // namespace
}  // namespace im::gateway
