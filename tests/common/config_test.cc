#include "common/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"

ABSL_DECLARE_FLAG(int, grpc_port);
ABSL_DECLARE_FLAG(std::string, postgres_dsn);
ABSL_DECLARE_FLAG(std::string, redis_addr);
ABSL_DECLARE_FLAG(int, worker_threads);
ABSL_DECLARE_FLAG(std::string, log_level);

ABSL_FLAG(int, test_lanes, 2, "A service flag of the test.");
ABSL_FLAG(int, test_limit_max, 10, "A service flag of the test.");
ABSL_FLAG(absl::Duration, test_ttl, absl::Seconds(30), "A service flag of the test.");
ABSL_FLAG(std::string, test_addr, "", "A service flag of the test.");

namespace im {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::SetFlag(&FLAGS_postgres_dsn, "postgresql://127.0.0.1/x");
    absl::SetFlag(&FLAGS_redis_addr, "127.0.0.1:6379");
  }
  void TearDown() override {
    for (const char* name : {"IM_GRPC_PORT", "IM_WORKER_THREADS"}) unsetenv(name);
  }
  absl::FlagSaver saver_;
};

TEST_F(ConfigTest, EnvironmentSetsFlags) {
  setenv("IM_GRPC_PORT", "7123", 1);
  ASSERT_TRUE(ApplyEnvironmentToFlags().ok());
  absl::StatusOr<CommonConfig> config = LoadCommonConfig("test");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->grpc_port, 7123);
}

TEST_F(ConfigTest, MalformedEnvironmentValueNamesTheVariable) {
  setenv("IM_WORKER_THREADS", "many", 1);
  absl::Status status = ApplyEnvironmentToFlags();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("IM_WORKER_THREADS"), std::string::npos);
}

TEST_F(ConfigTest, InvalidValuesAreRejectedWithTheFlagName) {
  absl::SetFlag(&FLAGS_grpc_port, 70000);
  absl::StatusOr<CommonConfig> config = LoadCommonConfig("test");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("grpc_port"), std::string::npos);
}

TEST_F(ConfigTest, MissingStoresAreRejected) {
  absl::SetFlag(&FLAGS_postgres_dsn, "");
  EXPECT_NE(LoadCommonConfig("test").status().message().find("IM_POSTGRES_DSN"), std::string::npos);
  absl::SetFlag(&FLAGS_postgres_dsn, "postgresql://127.0.0.1/x");
  absl::SetFlag(&FLAGS_redis_addr, "");
  EXPECT_NE(LoadCommonConfig("test").status().message().find("IM_REDIS_ADDR"), std::string::npos);
}

TEST_F(ConfigTest, UnknownLogLevelIsRejected) {
  absl::SetFlag(&FLAGS_log_level, "chatty");
  EXPECT_EQ(LoadCommonConfig("test").status().code(), absl::StatusCode::kInvalidArgument);
}

// A service's own flag checks stop the process naming the one bad flag, its variable and value.
TEST(ServiceFlagTest, AGoodValueIsReturned) {
  absl::FlagSaver saver;
  EXPECT_EQ(PositiveFlag(FLAGS_test_lanes), 2);
  EXPECT_EQ(FlagAtLeast(FLAGS_test_ttl, absl::Seconds(3)), absl::Seconds(30));
  EXPECT_EQ(FlagInRange(FLAGS_test_limit_max, 10, 20), 10);
  absl::SetFlag(&FLAGS_test_addr, "127.0.0.1:1");
  EXPECT_EQ(RequiredFlag(FLAGS_test_addr), "127.0.0.1:1");
}

TEST(ServiceFlagDeathTest, ABadValueStopsTheProcessNamingTheFlag) {
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_test_lanes, 0);
  EXPECT_EXIT(PositiveFlag(FLAGS_test_lanes), testing::ExitedWithCode(2),
              "--test_lanes \\(IM_TEST_LANES\\) must be positive, got \"0\"");
  EXPECT_EXIT(FlagAtLeast(FLAGS_test_limit_max, 20, "--test_limit_default"),
              testing::ExitedWithCode(2),
              "--test_limit_max \\(IM_TEST_LIMIT_MAX\\) must be at least --test_limit_default "
              "\\(20\\), got \"10\"");
  absl::SetFlag(&FLAGS_test_ttl, absl::Seconds(1));
  EXPECT_EXIT(FlagAtLeast(FLAGS_test_ttl, absl::Seconds(3)), testing::ExitedWithCode(2),
              "--test_ttl \\(IM_TEST_TTL\\) must be at least 3s, got \"1s\"");
  EXPECT_EXIT(FlagInRange(FLAGS_test_lanes, 1, 8), testing::ExitedWithCode(2),
              "--test_lanes \\(IM_TEST_LANES\\) must be 1..8, got \"0\"");
  EXPECT_EXIT(RequiredFlag(FLAGS_test_addr), testing::ExitedWithCode(2),
              "--test_addr \\(IM_TEST_ADDR\\) is required, got \"\"");
}

}  // namespace
}  // namespace im
