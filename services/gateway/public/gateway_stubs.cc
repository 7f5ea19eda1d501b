#include "services/gateway/public/gateway_stubs.h"

#include <grpcpp/grpcpp.h>

namespace im::gateway {

std::shared_ptr<im::gateway::v1::GatewayService::Stub> GatewayStubs::For(
    const std::string& address) {
  const absl::Time now = absl::Now();
  std::lock_guard<std::mutex> lock(mu_);
  // Sweeping at most every idle/4 keeps the cost per call O(1) on average.
  if (now >= next_sweep_) {
    absl::erase_if(stubs_, [&](const auto& item) { return now - item.second.last_used > idle_; });
    next_sweep_ = now + idle_ / 4;
  }
  Entry& entry = stubs_[address];
  if (entry.stub == nullptr) {
    entry.stub = im::gateway::v1::GatewayService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  entry.last_used = now;
  return entry.stub;
}

size_t GatewayStubs::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return stubs_.size();
}

}  // namespace im::gateway
