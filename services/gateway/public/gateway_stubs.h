// GatewayService stubs by gateway address, shared by everything that reaches gateways found through
// presence (the message service's fan-out, a gateway's kicks). One channel per address is reused
// across calls; an address unused for `idle` is dropped, since gateway pods come and go with new
// addresses and a dead one's channel would otherwise be kept, reconnecting, forever.
//
//   GatewayStubs stubs(absl::Minutes(10));
//   stubs.For("10.0.0.7:7002")->async()->Deliver(...);
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "im/gateway/v1/gateway.grpc.pb.h"

namespace im::gateway {

class GatewayStubs {
 public:
  explicit GatewayStubs(absl::Duration idle = absl::Minutes(10)) : idle_(idle) {}

  // The stub for `address`, created on first use. The caller keeps the returned pointer for the
  // length of its call, so dropping an idle address never cuts a call short. Thread-safe.
  std::shared_ptr<im::gateway::v1::GatewayService::Stub> For(const std::string& address);

  // How many addresses are cached (for tests).
  size_t size();

 private:
  struct Entry {
    std::shared_ptr<im::gateway::v1::GatewayService::Stub> stub;
    absl::Time last_used;
  };

  const absl::Duration idle_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Entry> stubs_;
  absl::Time next_sweep_ = absl::InfinitePast();
};

}  // namespace im::gateway
