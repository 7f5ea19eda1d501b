// Prometheus metrics for a service: the /metrics HTTP endpoint and the per-RPC request counters and
// latency histograms, collected by a gRPC server interceptor so no handler has to remember them.
//
//   Metrics metrics("127.0.0.1", 9100);
//   builder.experimental().SetInterceptorCreators(metrics.InterceptorFactories());
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace im {

class Metrics {
 public:
  // Serves /metrics on host:port (port 0 = any free port). UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<Metrics>> Start(const std::string& host, int port);

  int port() const { return port_; }

  // Interceptor factories for ServerBuilder; they record into this object, which must outlive the
  // server. grpc_server_handled_total{grpc_method,grpc_code} and
  // grpc_server_handling_seconds{grpc_method}.
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
  InterceptorFactories();

  // Also serves what `collectable` collects (a service's own registry); held weakly, so the caller
  // keeps it alive.
  void Register(const std::shared_ptr<prometheus::Collectable>& collectable);

  // Records one finished RPC.
  void RecordRpc(const std::string& method, int code, double seconds);

 private:
  Metrics(std::unique_ptr<prometheus::Exposer> exposer, int port);

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  int port_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Histogram>* latency_;
};

}  // namespace im
