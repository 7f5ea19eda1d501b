#include "services/gateway/gateway_metrics.h"

namespace im::gateway {
namespace {

prometheus::Counter* NewCounter(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge* NewGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

// 0.5 ms to 5 s: a send answered in a batch or two, to one that waited for a stalled store.
const prometheus::Histogram::BucketBoundaries kSendBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5};

}  // namespace

GatewayMetrics::GatewayMetrics()
    : registry(std::make_shared<prometheus::Registry>()),
      connections(NewGauge(*registry, "gateway_connections", "Open WebSocket connections.")),
      authenticated(NewGauge(*registry, "gateway_authenticated_connections",
                             "Connections that completed CONNECT.")),
      frames_in(NewCounter(*registry, "gateway_frames_in_total", "Frames received.")),
      frames_out(NewCounter(*registry, "gateway_frames_out_total", "Frames written.")),
      pushes(NewCounter(*registry, "gateway_pushes_total",
                        "Frames queued to connections by Deliver.")),
      recvacks(NewCounter(*registry, "gateway_recvacks_total", "RECVACK frames received.")),
      auth_failures(NewCounter(*registry, "gateway_auth_failures_total",
                               "CONNECTs answered with a failing CONNACK.")),
      kicks(NewCounter(*registry, "gateway_kicks_total",
                       "Connections closed with KICKED (policy, Kick, Disconnect).")),
      slow_consumer_closes(NewCounter(*registry, "gateway_slow_consumer_closes_total",
                                      "Connections closed because their write queue overflowed.")),
      rate_limited_frames(NewCounter(*registry, "gateway_rate_limited_frames_total",
                                     "Frames rejected with RATE_LIMITED.")),
      rate_limited_closes(NewCounter(*registry, "gateway_rate_limited_closes_total",
                                     "Connections closed for flooding.")),
      idle_closes(NewCounter(*registry, "gateway_idle_closes_total",
                             "Connections closed with IDLE_TIMEOUT.")),
      too_large_closes(NewCounter(*registry, "gateway_too_large_closes_total",
                                  "Connections closed for a frame over the size limit.")),
      send_seconds(&prometheus::BuildHistogram()
                        .Name("gateway_send_seconds")
                        .Help("From a SEND handed to the message service batcher to its SENDACK "
                              "queued on the connection.")
                        .Register(*registry)
                        .Add({}, kSendBuckets)) {}

}  // namespace im::gateway
