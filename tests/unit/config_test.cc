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

}  // namespace
}  // namespace im
