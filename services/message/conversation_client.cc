#include "services/message/conversation_client.h"

#include <algorithm>

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
                          "advance_reads; advance_reads_dropped counts advances dropped when too "
                          "many waited).")
                    .Register(registry)),
      sender_([this] { SendLoop(); }) {}

ConversationClient::~ConversationClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  stop_.notify_all();
  sender_.join();
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return advance_calls_ == 0; });
}

void ConversationClient::SendLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    changed_.wait(lock, [this] {
      return (!pending_advances_.empty() && advance_calls_ < options_.max_advance_calls) ||
             (stopping_ && pending_advances_.empty());
    });
    if (pending_advances_.empty()) return;
    std::shared_ptr<AdvanceCall> call = TakeAdvanceCallLocked();
    lock.unlock();
    StartAdvanceCall(std::move(call));
    lock.lock();
    stop_.wait_for(lock, absl::ToChronoNanoseconds(options_.advance_interval),
                   [this] { return stopping_; });
  }
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
  size_t dropped = 0;
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_empty = pending_advances_.empty();
    for (cv1::ReadAdvance& item : items) {
      AdvanceKey key{item.uid(), item.channel().type(), item.channel().id()};
      auto it = pending_advances_.find(key);
      if (it == pending_advances_.end()) {
        if (pending_advances_.size() >= options_.max_pending_advances) {
          ++dropped;
          continue;
        }
        pending_advances_.emplace(std::move(key), std::move(item));
      } else if (item.read_seq() > it->second.read_seq()) {
        it->second = std::move(item);
      }
    }
  }
  if (was_empty) changed_.notify_all();
  if (dropped > 0) {
    failures_.Add({{"call", "advance_reads_dropped"}}).Increment(static_cast<double>(dropped));
  }
}

std::shared_ptr<ConversationClient::AdvanceCall> ConversationClient::TakeAdvanceCallLocked() {
  ++advance_calls_;
  auto call = std::make_shared<AdvanceCall>();
  const size_t count = std::min(pending_advances_.size(), options_.max_advance_items);
  call->request.mutable_items()->Reserve(static_cast<int>(count));
  for (auto it = pending_advances_.begin();
       it != pending_advances_.end() && static_cast<size_t>(call->request.items_size()) < count;) {
    *call->request.add_items() = std::move(it->second);
    pending_advances_.erase(it++);
  }
  return call;
}

void ConversationClient::StartAdvanceCall(std::shared_ptr<AdvanceCall> call) {
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  AdvanceCall* raw = call.get();
  // The call (its ClientContext) is released before AdvanceEnded can let the destructor run, so
  // the channel is never released from inside a gRPC callback.
  stub_->async()->AdvanceReads(&raw->context, &raw->request, &raw->response,
                               [this, call = std::move(call)](grpc::Status status) mutable {
                                 const size_t items =
                                     static_cast<size_t>(call->request.items_size());
                                 call.reset();
                                 AdvanceEnded(status, items);
                               });
}

void ConversationClient::AdvanceEnded(const grpc::Status& status, size_t items) {
  if (!status.ok()) {
    failures_.Add({{"call", "advance_reads"}}).Increment();
    log::Warning("advance_reads_failed", {{"items", absl::StrCat(items)},
                                          {"code", absl::StrCat(status.error_code())},
                                          {"error", status.error_message()}});
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    --advance_calls_;
  }
  changed_.notify_all();
}

}  // namespace im::message
