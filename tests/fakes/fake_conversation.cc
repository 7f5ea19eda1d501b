#include "tests/fakes/fake_conversation.h"

#include "tests/fakes/loopback_server.h"

namespace im::testing {

namespace cv1 = im::conversation::v1;

FakeConversation::FakeConversation() : server_(StartLoopbackServer(this, &address_)) {}

FakeConversation::~FakeConversation() {
  set_hold_advances(false);
  server_->Shutdown();
}

void FakeConversation::set_fail_ensure(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_ensure_ = fail;
}

std::vector<cv1::EnsureRequest> FakeConversation::Ensures() {
  std::lock_guard<std::mutex> lock(mu_);
  return ensures_;
}

size_t FakeConversation::AdvanceCalls() {
  std::lock_guard<std::mutex> lock(mu_);
  return advance_calls_;
}

void FakeConversation::set_hold_advances(bool hold) {
  std::vector<grpc::ServerUnaryReactor*> release;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hold_advances_ = hold;
    if (!hold) release.swap(held_);
  }
  for (grpc::ServerUnaryReactor* reactor : release) reactor->Finish(grpc::Status::OK);
}

std::vector<cv1::ReadAdvance> FakeConversation::WaitForAdvances(size_t count,
                                                                absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return advances_.size() >= count; });
  return advances_;
}

grpc::ServerUnaryReactor* FakeConversation::Ensure(grpc::CallbackServerContext* context,
                                                   const cv1::EnsureRequest* request,
                                                   cv1::EnsureResponse*) {
  bool fail;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ensures_.push_back(*request);
    fail = fail_ensure_;
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(fail ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake outage")
                       : grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* FakeConversation::AdvanceReads(grpc::CallbackServerContext* context,
                                                         const cv1::AdvanceReadsRequest* request,
                                                         cv1::AdvanceReadsResponse*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  bool hold;
  {
    std::lock_guard<std::mutex> lock(mu_);
    advances_.insert(advances_.end(), request->items().begin(), request->items().end());
    ++advance_calls_;
    hold = hold_advances_;
    if (hold) held_.push_back(reactor);
  }
  cv_.notify_all();
  if (!hold) reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace im::testing
