// Async GatewayService clients, one cached stub per gateway address (the addresses come from
// presence), so fan-out never blocks a thread per call and never reconnects per batch.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "im/gateway/v1/gateway.grpc.pb.h"

namespace im::message {

class GatewayClients {
 public:
  explicit GatewayClients(absl::Duration timeout) : timeout_(timeout) {}

  // Starts Deliver on the gateway at `address` with the configured deadline; `done` runs once,
  // on a gRPC thread, with the call's status.
  void Deliver(const std::string& address, im::gateway::v1::DeliverRequest request,
               std::function<void(const grpc::Status&)> done);

 private:
  im::gateway::v1::GatewayService::Stub* StubFor(const std::string& address);

  const absl::Duration timeout_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<im::gateway::v1::GatewayService::Stub>> stubs_;
};

}  // namespace im::message
