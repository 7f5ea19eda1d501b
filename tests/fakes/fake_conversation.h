// A real ConversationService gRPC server in the test process that records Ensure and AdvanceReads
// calls (the ones the message service makes) and can be told to fail Ensure, so the message
// service's logic is tested without the conversation binary. Other RPCs answer UNIMPLEMENTED.
//
//   FakeConversation conversations;             // listens on 127.0.0.1:<free port>
//   ConversationClient client(FreshChannel(conversations.address()), {}, registry);
//   conversations.set_fail_ensure(true);
//   auto advances = conversations.WaitForAdvances(1, absl::Seconds(5));
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "im/conversation/v1/conversation.grpc.pb.h"

namespace im::testing {

class FakeConversation final : public im::conversation::v1::ConversationService::CallbackService {
 public:
  FakeConversation();
  ~FakeConversation() override;

  const std::string& address() const { return address_; }

  // While set, Ensure answers UNAVAILABLE (and is still recorded).
  void set_fail_ensure(bool fail);

  std::vector<im::conversation::v1::EnsureRequest> Ensures();
  // Waits until the AdvanceReads calls hold at least `count` items (or `timeout` passed); returns
  // every item received, in arrival order.
  std::vector<im::conversation::v1::ReadAdvance> WaitForAdvances(size_t count,
                                                                 absl::Duration timeout);
  // AdvanceReads calls received so far.
  size_t AdvanceCalls();
  // While set, AdvanceReads calls are recorded but not answered; clearing it answers them.
  void set_hold_advances(bool hold);

  grpc::ServerUnaryReactor* Ensure(grpc::CallbackServerContext* context,
                                   const im::conversation::v1::EnsureRequest* request,
                                   im::conversation::v1::EnsureResponse* response) override;
  grpc::ServerUnaryReactor* AdvanceReads(
      grpc::CallbackServerContext* context,
      const im::conversation::v1::AdvanceReadsRequest* request,
      im::conversation::v1::AdvanceReadsResponse* response) override;

 private:
  std::string address_;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool fail_ensure_ = false;
  std::vector<im::conversation::v1::EnsureRequest> ensures_;
  std::vector<im::conversation::v1::ReadAdvance> advances_;
  size_t advance_calls_ = 0;
  bool hold_advances_ = false;
  std::vector<grpc::ServerUnaryReactor*> held_;
};

}  // namespace im::testing
