// A real GatewayService gRPC server in the test process that records every Deliver call, so tests
// can see what fan-out sends to each gateway (how many calls, which items, recipients, excluded
// device) without running the gateway binary.
//
//   FakeGateway gateway;                       // listens on 127.0.0.1:<free port>
//   presence.Register({{.uid = "bob", .device_id = "d1", .gateway = gateway.address()}});
//   ... send ...
//   auto calls = gateway.WaitForCalls(1, absl::Seconds(5));
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "im/gateway/v1/gateway.grpc.pb.h"

namespace im::testing {

class FakeGateway final : public im::gateway::v1::GatewayService::CallbackService {
 public:
  FakeGateway();
  ~FakeGateway() override;

  // The gRPC address to put in presence entries.
  const std::string& address() const { return address_; }

  // Waits until at least `count` Deliver calls arrived (or `timeout` passed); returns them all.
  std::vector<im::gateway::v1::DeliverRequest> WaitForCalls(size_t count, absl::Duration timeout);
  std::vector<im::gateway::v1::DeliverRequest> Calls();

  grpc::ServerUnaryReactor* Deliver(grpc::CallbackServerContext* context,
                                    const im::gateway::v1::DeliverRequest* request,
                                    im::gateway::v1::DeliverResponse* response) override;
  grpc::ServerUnaryReactor* Disconnect(grpc::CallbackServerContext* context,
                                       const im::gateway::v1::DisconnectRequest* request,
                                       im::gateway::v1::DisconnectResponse* response) override;

 private:
  std::string address_;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<im::gateway::v1::DeliverRequest> calls_;
};

}  // namespace im::testing
