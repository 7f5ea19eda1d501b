// Async GatewayService Deliver calls to gateways found through presence; stubs are cached per
// address (services/gateway/public/gateway_stubs.h), so fan-out never blocks a thread per call and
// never reconnects per batch.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "im/gateway/v1/gateway.grpc.pb.h"
#include "services/gateway/public/gateway_stubs.h"

namespace im::message {

class GatewayClients {
 public:
  explicit GatewayClients(absl::Duration timeout) : timeout_(timeout) {}

  // Starts Deliver on the gateway at `address` with the configured deadline; `done` runs once,
  // on a gRPC thread, with the call's status.
  void Deliver(const std::string& address, im::gateway::v1::DeliverRequest request,
               std::function<void(const grpc::Status&)> done);

 private:
  const absl::Duration timeout_;
  gateway::GatewayStubs stubs_;
};

}  // namespace im::message
