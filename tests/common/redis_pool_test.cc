#include "common/redis_pool.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/test_env.h"

namespace im {
namespace {

TEST(RedisPoolTest, PipelineReturnsRepliesInOrder) {
  auto redis = testing::MakeRedisPool();
  const std::string key = testing::UniqueName("rp");
  auto replies = redis->Pipeline({{"SET", key, "5"},
                                  {"INCRBY", key, "3"},
                                  {"GET", key},
                                  {"GET", key + "-absent"},
                                  {"HGET", key, "x"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 5u);
  EXPECT_EQ((*replies)[0].type, RedisReply::Type::kStatus);
  EXPECT_EQ((*replies)[1].integer, 8);
  EXPECT_EQ((*replies)[2].str, "8");
  EXPECT_EQ((*replies)[3].type, RedisReply::Type::kNil);
  EXPECT_TRUE((*replies)[4].is_error());  // WRONGTYPE comes back in place, not as a failure.
}

TEST(RedisPoolTest, ScriptsRunAndKnowTheServerRunId) {
  auto redis = testing::MakeRedisPool();
  RedisScript script("return {KEYS[1], ARGV[1]}");
  std::string run_id;
  std::string identity;
  absl::Status status = redis->Run([&](RedisConnection& conn) -> absl::Status {
    run_id = conn.run_id();
    identity = conn.identity();
    auto replies = conn.EvalPipeline(script, {{"1", "k1", "a"}, {"1", "k2", "b"}});
    if (!replies.ok()) return replies.status();
    EXPECT_EQ((*replies)[0].elements[0].str, "k1");
    EXPECT_EQ((*replies)[1].elements[1].str, "b");
    // Survives SCRIPT FLUSH: the next pipeline loads the script again.
    EXPECT_TRUE(conn.Pipeline({{"SCRIPT", "FLUSH"}}).ok());
    replies = conn.EvalPipeline(script, {{"1", "k3", "c"}});
    if (!replies.ok()) return replies.status();
    EXPECT_EQ((*replies)[0].elements[0].str, "k3");
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(run_id.size(), 40u);
  // run_id, a colon and the 40-character replication id.
  EXPECT_EQ(identity.size(), 81u);
  EXPECT_EQ(identity.rfind(run_id, 0), 0u);
}

TEST(RedisPoolTest, UnreachableServerIsUnavailable) {
  RedisPool redis({.host = "127.0.0.1", .port = testing::FreePort()});
  EXPECT_EQ(redis.Ping().code(), absl::StatusCode::kUnavailable);
}

TEST(RedisPoolTest, TransientErrorRepliesAreUnavailable) {
  const auto code = [](const char* text) {
    RedisReply reply;
    reply.type = RedisReply::Type::kError;
    reply.str = text;
    return RedisErrorStatus(reply).code();
  };
  EXPECT_EQ(code("LOADING Redis is loading the dataset in memory"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(code("READONLY You can't write against a read only replica."),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(code("OOM command not allowed"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(code("ERR wrong number of arguments"), absl::StatusCode::kInternal);
}

TEST(RedisPoolTest, AConnectionTheServerClosedWhileIdleIsReplacedBeforeUse) {
  absl::StatusOr<RedisPool::Options> options = ParseRedisAddr(testing::RedisAddr());
  ASSERT_TRUE(options.ok()) << options.status();
  options->size = 1;
  RedisPool redis(*options);
  auto id = redis.Pipeline({{"CLIENT", "ID"}});
  ASSERT_TRUE(id.ok()) << id.status();
  const std::string first = absl::StrCat((*id)[0].integer);
  auto admin = testing::MakeRedisPool();
  auto killed = admin->Pipeline({{"CLIENT", "KILL", "ID", first}});
  ASSERT_TRUE(killed.ok()) << killed.status();
  ASSERT_EQ((*killed)[0].integer, 1);
  // The close reaches this process's socket at once on loopback; the probe sees it.
  absl::SleepFor(absl::Milliseconds(50));
  auto after = redis.Pipeline({{"CLIENT", "ID"}});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(absl::StrCat((*after)[0].integer), first);
}

TEST(RedisPoolTest, ParsesAddresses) {
  EXPECT_TRUE(ParseRedisAddr("127.0.0.1:6379").ok());
  EXPECT_FALSE(ParseRedisAddr("127.0.0.1").ok());
  EXPECT_FALSE(ParseRedisAddr(":6379").ok());
  EXPECT_FALSE(ParseRedisAddr("host:99999").ok());
}

}  // namespace
}  // namespace im
