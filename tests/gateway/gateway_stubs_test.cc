#include "services/gateway/public/gateway_stubs.h"

#include <gtest/gtest.h>

namespace im {
namespace {

TEST(GatewayStubsTest, ReusesOneStubPerAddress) {
  gateway::GatewayStubs stubs;
  auto first = stubs.For("127.0.0.1:1");
  EXPECT_EQ(stubs.For("127.0.0.1:1"), first);
  EXPECT_NE(stubs.For("127.0.0.1:2"), first);
  EXPECT_EQ(stubs.size(), 2u);
}

TEST(GatewayStubsTest, DropsAddressesUnusedForTheIdleTimeButNotHeldStubs) {
  gateway::GatewayStubs stubs(absl::Milliseconds(50));
  auto gone = stubs.For("10.0.0.1:7002");
  absl::SleepFor(absl::Milliseconds(120));
  auto live = stubs.For("10.0.0.2:7002");
  EXPECT_EQ(stubs.size(), 1u);
  // A call in flight keeps its stub; the next use of the address makes a new one.
  EXPECT_NE(gone, nullptr);
  EXPECT_NE(stubs.For("10.0.0.1:7002"), gone);
  EXPECT_EQ(stubs.For("10.0.0.2:7002"), live);
}

}  // namespace
}  // namespace im
