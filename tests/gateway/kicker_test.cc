// Which connections a Kicker closes on this gateway, with fake connections.
#include "services/gateway/kicker.h"

#include <gtest/gtest.h>

#include "services/gateway/gateway_metrics.h"
#include "services/gateway/session_hub.h"
#include "tests/fakes/fake_connection.h"

namespace im::gateway {
namespace {

using namespace im::common::v1;

// What a GatewayService.Disconnect with device_id does here: under `allow`, the same device that
// reconnected on another gateway is closed, the other device of its flag stays.
TEST(KickerTest, KickLocalWithADeviceIdClosesOnlyThatDevice) {
  SessionHub hub;
  GatewayMetrics metrics;
  Kicker kicker(&hub, /*presence=*/nullptr, /*tokens=*/nullptr, /*workers=*/nullptr, &metrics,
                "127.0.0.1:1", absl::Seconds(1));
  auto phone = Conn("frank", "phone", DEVICE_FLAG_APP);
  auto tablet = Conn("frank", "tablet", DEVICE_FLAG_APP);
  auto browser = Conn("frank", "browser", DEVICE_FLAG_WEB);
  for (const auto& conn : {phone, tablet, browser}) hub.Add(conn, MultiDevicePolicy::kAllow);

  EXPECT_EQ(kicker.KickLocal("frank", {.device_flag = DEVICE_FLAG_APP, .device_id = "phone"},
                             REASON_CODE_KICKED, "replaced by device phone"),
            1);
  EXPECT_EQ(phone->closed, REASON_CODE_KICKED);
  EXPECT_FALSE(tablet->closed.has_value());
  EXPECT_FALSE(browser->closed.has_value());
  EXPECT_EQ(metrics.kicks->Value(), 1);

  EXPECT_EQ(kicker.KickLocal("frank", {.device_flag = DEVICE_FLAG_APP, .device_id = "gone"},
                             REASON_CODE_KICKED, ""),
            0);
  EXPECT_FALSE(tablet->closed.has_value());
}

}  // namespace
}  // namespace im::gateway
