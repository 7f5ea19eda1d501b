#include "services/gateway/token_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "im/common/v1/common.pb.h"
#include "tests/support/test_env.h"

namespace im::gateway {
namespace {

using im::testing::UniqueName;

constexpr int kApp = im::common::v1::DEVICE_FLAG_APP;
constexpr int kWeb = im::common::v1::DEVICE_FLAG_WEB;

class TokenStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<RedisPool> redis_ = im::testing::MakeRedisPool();
  TokenStore tokens_{*redis_};
};

TEST_F(TokenStoreTest, ChecksTheRegisteredTokenPerFlag) {
  const std::string uid = UniqueName("alice");
  ASSERT_TRUE(tokens_.Set(uid, kApp, "app-token", absl::ZeroDuration()).ok());
  EXPECT_TRUE(tokens_.Check(uid, kApp, "app-token").ok());
  EXPECT_EQ(tokens_.Check(uid, kApp, "wrong").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(tokens_.Check(uid, kWeb, "app-token").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(tokens_.Check(UniqueName("nobody"), kApp, "app-token").code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenStoreTest, StoresOnlyAHash) {
  const std::string uid = UniqueName("hash");
  ASSERT_TRUE(tokens_.Set(uid, kApp, "plain-secret", absl::ZeroDuration()).ok());
  auto replies = redis_->Pipeline({{"GET", "gw:tok:{" + uid + "}:1"}});
  ASSERT_TRUE(replies.ok());
  EXPECT_EQ(replies->front().str, Sha256Hex("plain-secret"));
  EXPECT_EQ(replies->front().str.find("plain"), std::string::npos);
}

TEST_F(TokenStoreTest, SetReplacesTheEarlierToken) {
  const std::string uid = UniqueName("replace");
  ASSERT_TRUE(tokens_.Set(uid, kApp, "old", absl::ZeroDuration()).ok());
  ASSERT_TRUE(tokens_.Set(uid, kApp, "new", absl::ZeroDuration()).ok());
  EXPECT_FALSE(tokens_.Check(uid, kApp, "old").ok());
  EXPECT_TRUE(tokens_.Check(uid, kApp, "new").ok());
}

TEST_F(TokenStoreTest, TokensExpireAfterTheirTtl) {
  const std::string uid = UniqueName("ttl");
  ASSERT_TRUE(tokens_.Set(uid, kApp, "short", absl::Milliseconds(200)).ok());
  EXPECT_TRUE(tokens_.Check(uid, kApp, "short").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(tokens_.Check(uid, kApp, "short").code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenStoreTest, RevokeOneFlagOrAll) {
  const std::string uid = UniqueName("revoke");
  ASSERT_TRUE(tokens_.Set(uid, kApp, "a", absl::ZeroDuration()).ok());
  ASSERT_TRUE(tokens_.Set(uid, kWeb, "w", absl::ZeroDuration()).ok());
  ASSERT_TRUE(tokens_.Revoke(uid, kApp).ok());
  EXPECT_FALSE(tokens_.Check(uid, kApp, "a").ok());
  EXPECT_TRUE(tokens_.Check(uid, kWeb, "w").ok());
  ASSERT_TRUE(tokens_.Revoke(uid, 0).ok());
  EXPECT_FALSE(tokens_.Check(uid, kWeb, "w").ok());
}

}  // namespace
}  // namespace im::gateway
