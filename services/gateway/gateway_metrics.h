// The gateway's own Prometheus metrics, in a registry that the service runtime exposes on /metrics
// next to the per-RPC ones. Counters and gauges are thread-safe.
#pragma once

#include <memory>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace im::gateway {

struct GatewayMetrics {
  GatewayMetrics();

  std::shared_ptr<prometheus::Registry> registry;
  // WebSocket connections open (handshake done), and those authenticated.
  prometheus::Gauge* connections;
  prometheus::Gauge* authenticated;
  prometheus::Counter* frames_in;
  prometheus::Counter* frames_out;
  prometheus::Counter* pushes;
  prometheus::Counter* recvacks;
  prometheus::Counter* auth_failures;
  prometheus::Counter* kicks;
  prometheus::Counter* slow_consumer_closes;
  prometheus::Counter* rate_limited_frames;
  prometheus::Counter* rate_limited_closes;
  prometheus::Counter* idle_closes;
  prometheus::Counter* too_large_closes;
  // From a SEND frame handed to the batcher to its SENDACK queued on the connection: the message
  // service's answer as this gateway sees it, batching and gRPC included.
  prometheus::Histogram* send_seconds;
};

}  // namespace im::gateway
