#include "common/metrics.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace im {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Latency buckets from 100us to 5s: the hot path lives in the low milliseconds.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(Metrics* metrics, const char* method)
      : metrics_(metrics), method_(method), start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
      metrics_->RecordRpc(method_, methods->GetSendStatus().error_code(), elapsed.count());
    }
    methods->Proceed();
  }

 private:
  Metrics* metrics_;
  std::string method_;
  std::chrono::steady_clock::time_point start_;
};

class RpcMetricsFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcMetricsInterceptor(metrics_, info->method());
  }

 private:
  Metrics* metrics_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Start(const std::string& host, int port) {
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(absl::StrCat(host, ":", port));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("metrics on ", host, ":", port, ": ", e.what()));
  }
  const std::vector<int> ports = exposer->GetListeningPorts();
  const int bound = ports.empty() ? port : ports.front();
  return std::unique_ptr<Metrics>(new Metrics(std::move(exposer), bound));
}

Metrics::Metrics(std::unique_ptr<prometheus::Exposer> exposer, int port)
    : exposer_(std::move(exposer)),
      registry_(std::make_shared<prometheus::Registry>()),
      port_(port),
      handled_(&prometheus::BuildCounter()
                    .Name("grpc_server_handled_total")
                    .Help("RPCs completed on the server, by method and status code.")
                    .Register(*registry_)),
      latency_(&prometheus::BuildHistogram()
                    .Name("grpc_server_handling_seconds")
                    .Help("Time from receiving an RPC to sending its status, by method.")
                    .Register(*registry_)) {
  exposer_->RegisterCollectable(registry_);
}

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
Metrics::InterceptorFactories() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<RpcMetricsFactory>(this));
  return factories;
}

void Metrics::Register(const std::shared_ptr<prometheus::Collectable>& collectable) {
  exposer_->RegisterCollectable(collectable);
}

void Metrics::RecordRpc(const std::string& method, int code, double seconds) {
  handled_->Add({{"grpc_method", method}, {"grpc_code", absl::StrCat(code)}}).Increment();
  latency_->Add({{"grpc_method", method}}, kLatencyBuckets).Observe(seconds);
}

}  // namespace im
