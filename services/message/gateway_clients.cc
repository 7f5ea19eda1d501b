#include "services/message/gateway_clients.h"

namespace im::message {
namespace {

// What one Deliver call owns until its callback has run.
struct DeliverCall {
  std::shared_ptr<im::gateway::v1::GatewayService::Stub> stub;
  grpc::ClientContext context;
  im::gateway::v1::DeliverRequest request;
  im::gateway::v1::DeliverResponse response;
};

}  // namespace

void GatewayClients::Deliver(const std::string& address, im::gateway::v1::DeliverRequest request,
                             std::function<void(const grpc::Status&)> done) {
  auto call = std::make_shared<DeliverCall>();
  call->request = std::move(request);
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  call->stub = stubs_.For(address);
  call->stub->async()->Deliver(&call->context, &call->request, &call->response,
                               [call, done = std::move(done)](grpc::Status status) mutable {
                                 // Released before `done` lets the caller go on and drop the stubs,
                                 // so the channel is never released from inside a gRPC callback.
                                 call.reset();
                                 done(status);
                               });
}

}  // namespace im::message
