// Authenticator on the real Redis: a CONNECT token is either the one registered in the TokenStore
// or a JWT signed with the configured secret, for the uid and device flag it names.
#include "services/gateway/authenticator.h"

#include <gtest/gtest.h>

#include "common/reason_codes.h"
#include "services/gateway/jwt.h"
#include "services/gateway/token_store.h"
#include "tests/support/test_env.h"

namespace im::gateway {
namespace {

using im::testing::UniqueName;

constexpr int kApp = im::common::v1::DEVICE_FLAG_APP;
constexpr int kWeb = im::common::v1::DEVICE_FLAG_WEB;

class AuthenticatorTest : public ::testing::Test {
 protected:
  std::unique_ptr<RedisPool> redis_ = im::testing::MakeRedisPool();
  TokenStore tokens_{*redis_};
};

// DESIGN.md invariant 10: a token proves one uid (and, where it says so, one device flag).
TEST_F(AuthenticatorTest, AcceptsStoredTokensAndJwtsOnlyForTheUidTheyProve) {
  const std::string uid = UniqueName("auth");
  Authenticator with_jwt(&tokens_, "jwt-secret");
  Authenticator without_jwt(&tokens_, "");
  ASSERT_TRUE(tokens_.Set(uid, kApp, "stored", absl::ZeroDuration()).ok());
  EXPECT_TRUE(with_jwt.Check(uid, kApp, "stored").ok());
  EXPECT_TRUE(without_jwt.Check(uid, kApp, "stored").ok());

  const std::string jwt = SignHs256Jwt(R"({"sub":")" + uid + R"("})", "jwt-secret");
  EXPECT_TRUE(with_jwt.Check(uid, kApp, jwt).ok());
  EXPECT_FALSE(without_jwt.Check(uid, kApp, jwt).ok());
  EXPECT_FALSE(with_jwt.Check(UniqueName("other"), kApp, jwt).ok());
  EXPECT_EQ(with_jwt.Check(uid, kApp, "").code(), absl::StatusCode::kUnauthenticated);

  const std::string web_only =
      SignHs256Jwt(R"({"sub":")" + uid + R"(","device_flag":2})", "jwt-secret");
  EXPECT_TRUE(with_jwt.Check(uid, kWeb, web_only).ok());
  EXPECT_FALSE(with_jwt.Check(uid, kApp, web_only).ok());

  const std::string expired = SignHs256Jwt(R"({"sub":")" + uid + R"(","exp":1})", "jwt-secret");
  EXPECT_EQ(ReasonFor(with_jwt.Check(uid, kApp, expired)),
            im::common::v1::REASON_CODE_TOKEN_EXPIRED);
}

}  // namespace
}  // namespace im::gateway
