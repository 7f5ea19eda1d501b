#include "services/message/gateway_clients.h"

namespace im::message {
namespace {

// What one Deliver call owns until its callback has run.
struct DeliverCall {
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
  StubFor(address)->async()->Deliver(
      &call->context, &call->request, &call->response,
      [call, done = std::move(done)](grpc::Status status) { done(status); });
}

im::gateway::v1::GatewayService::Stub* GatewayClients::StubFor(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<im::gateway::v1::GatewayService::Stub>& stub = stubs_[address];
  if (stub == nullptr) {
    stub = im::gateway::v1::GatewayService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  return stub.get();
}

}  // namespace im::message
