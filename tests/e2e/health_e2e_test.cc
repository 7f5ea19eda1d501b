// Every binary serves health and metrics, and health follows Postgres and Redis. Stops the shared
// servers, so ctest runs it alone (RUN_SERIAL).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/test_env.h"

namespace im {
namespace {

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Health does not depend on the services a binary calls, so their addresses need not answer.
    const std::map<std::string, std::string> env = {{"IM_SEQUENCE_ADDR", "127.0.0.1:1"},
                                                    {"IM_MESSAGE_ADDR", "127.0.0.1:1"},
                                                    {"IM_CONVERSATION_ADDR", "127.0.0.1:1"},
                                                    {"IM_WS_PORT", "0"}};
    for (const char* name : {"sequence", "gateway", "message", "conversation", "extension"}) {
      services_.push_back(
          std::make_unique<testing::ServiceProcess>(testing::BinaryPath(name), env));
    }
    for (auto& service : services_) ASSERT_TRUE(service->WaitServing());
  }

  void ExpectAll(bool serving) {
    for (auto& service : services_) {
      EXPECT_TRUE(service->WaitHealth(serving, 15)) << service->grpc_address();
    }
  }

  std::vector<std::unique_ptr<testing::ServiceProcess>> services_;
};

// The Helm hook Job and scripts/run.sh run `<binary> --migrate_only` with nothing but the stores:
// no ports, no peer addresses.
TEST(MigrateOnlyTest, EveryBinaryMigratesWithOnlyTheStores) {
  for (const char* name : {"sequence", "gateway", "message", "conversation", "extension"}) {
    const std::string command =
        absl::StrCat("env -i IM_POSTGRES_DSN='", testing::PostgresDsn(), "' IM_REDIS_ADDR='",
                     testing::RedisAddr(), "' ", testing::BinaryPath(name), " --migrate_only");
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
}

TEST_F(HealthTest, EveryServiceServesHealthAndMetrics) {
  for (auto& service : services_) {
    // The RPC interceptor counts a call once it has completed, which may be just after the client
    // (WaitServing's health check) saw the answer; so the first scrape may come too early.
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    std::string metrics;
    do {
      metrics = testing::HttpGet(service->metrics_port(), "/metrics");
      if (metrics.find("grpc_server_handled_total") != std::string::npos) break;
      absl::SleepFor(absl::Milliseconds(50));
    } while (absl::Now() < deadline);
    EXPECT_NE(metrics.find("grpc_server_handled_total"), std::string::npos)
        << service->grpc_address() << ": " << metrics;
  }
}

TEST_F(HealthTest, NotServingWhileRedisIsDown) {
  testing::Stack("stop-redis");
  ExpectAll(false);
  testing::Stack("start-redis");
  ExpectAll(true);
}

TEST_F(HealthTest, NotServingWhilePostgresIsDown) {
  testing::Stack("stop-postgres");
  ExpectAll(false);
  testing::Stack("start-postgres");
  ExpectAll(true);
}

TEST_F(HealthTest, SigtermDrainsAndExitsCleanly) {
  for (auto& service : services_) EXPECT_EQ(service->Stop(), 0);
}

}  // namespace
}  // namespace im
