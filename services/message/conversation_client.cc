#include "services/message/conversation_client.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace im::message {

namespace cv1 = im::conversation::v1;

struct ConversationClient::AdvanceCall {
  grpc::ClientContext context;
  cv1::AdvanceReadsRequest request;
  cv1::AdvanceReadsResponse response;
};

ConversationClient::ConversationClient(std::shared_ptr<grpc::Channel> channel, Options options,
                                       prometheus::Registry& registry)
    : stub_(cv1::ConversationService::NewStub(std::move(channel))),
      options_(options),
      failures_(prometheus::BuildCounter()
                    .Name("im_message_conversation_failures_total")
                    .Help("Failed calls to the conversation service, by call (ensure, "
                          "advance_reads; advance_reads_dropped when too many were in flight).")
                    .Register(registry)) {}

ConversationClient::~ConversationClient() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return advance_calls_ == 0; });
}

absl::Status ConversationClient::Ensure(std::vector<cv1::EnsureItem> items) {
  if (items.empty()) return absl::OkStatus();
  cv1::EnsureRequest request;
  request.mutable_items()->Reserve(static_cast<int>(items.size()));
  for (cv1::EnsureItem& item : items) *request.add_items() = std::move(item);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  cv1::EnsureResponse response;
  const grpc::Status status = stub_->Ensure(&context, request, &response);
  if (status.ok()) return absl::OkStatus();
  failures_.Add({{"call", "ensure"}}).Increment();
  return FromGrpcStatus(status, "conversation service");
}

void ConversationClient::AdvanceReads(std::vector<cv1::ReadAdvance> items) {
  if (items.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (advance_calls_ >= options_.max_advance_calls) {
      failures_.Add({{"call", "advance_reads_dropped"}}).Increment();
      return;
    }
    ++advance_calls_;
  }
  auto call = std::make_shared<AdvanceCall>();
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  call->request.mutable_items()->Reserve(static_cast<int>(items.size()));
  for (cv1::ReadAdvance& item : items) *call->request.add_items() = std::move(item);
  AdvanceCall* raw = call.get();
  stub_->async()->AdvanceReads(&raw->context, &raw->request, &raw->response,
                               [this, call = std::move(call)](grpc::Status status) {
                                 AdvanceEnded(status, call->request.items_size());
                               });
}

void ConversationClient::AdvanceEnded(const grpc::Status& status, size_t items) {
  if (!status.ok()) {
    failures_.Add({{"call", "advance_reads"}}).Increment();
    log::Warning("advance_reads_failed", {{"items", absl::StrCat(items)},
                                          {"code", absl::StrCat(status.error_code())},
                                          {"error", status.error_message()}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  --advance_calls_;
  if (advance_calls_ == 0) idle_.notify_all();
}

}  // namespace im::message
