#include "tests/fakes/fake_gateway.h"

#include "tests/fakes/loopback_server.h"

namespace im::testing {

FakeGateway::FakeGateway() : server_(StartLoopbackServer(this, &address_)) {}

FakeGateway::~FakeGateway() { server_->Shutdown(); }

std::vector<im::gateway::v1::DeliverRequest> FakeGateway::WaitForCalls(size_t count,
                                                                       absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return calls_.size() >= count; });
  return calls_;
}

std::vector<im::gateway::v1::DeliverRequest> FakeGateway::Calls() {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

grpc::ServerUnaryReactor* FakeGateway::Deliver(grpc::CallbackServerContext* context,
                                               const im::gateway::v1::DeliverRequest* request,
                                               im::gateway::v1::DeliverResponse* response) {
  for (const im::gateway::v1::DeliverItem& item : request->items()) {
    im::gateway::v1::DeliverResult* result = response->add_results();
    for (const im::gateway::v1::Recipient& recipient : item.recipients()) {
      result->add_online_uids(recipient.uid());
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(*request);
  }
  cv_.notify_all();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* FakeGateway::Disconnect(grpc::CallbackServerContext* context,
                                                  const im::gateway::v1::DisconnectRequest*,
                                                  im::gateway::v1::DisconnectResponse*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace im::testing
