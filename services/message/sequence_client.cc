#include "services/message/sequence_client.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace im::message {

SequenceClient::SequenceClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
    : stub_(im::sequence::v1::SequenceService::NewStub(std::move(channel))), timeout_(timeout) {}

absl::StatusOr<std::vector<int64_t>> SequenceClient::Allocate(
    const std::vector<SeqRequest>& requests) {
  std::vector<int64_t> firsts;
  if (requests.empty()) return firsts;
  im::sequence::v1::AllocateBatchRequest request;
  for (const SeqRequest& r : requests) {
    im::sequence::v1::AllocateRequest* item = request.add_items();
    item->set_channel(r.channel_key);
    item->set_kind(r.kind);
    item->set_count(r.count);
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  im::sequence::v1::AllocateBatchResponse response;
  const grpc::Status status = stub_->AllocateBatch(&context, request, &response);
  if (!status.ok()) {
    return FromGrpcStatus(status, "sequence service");
  }
  if (response.ranges_size() != request.items_size()) {
    return absl::InternalError("sequence service: wrong number of ranges");
  }
  firsts.reserve(requests.size());
  for (int i = 0; i < response.ranges_size(); ++i) {
    const im::sequence::v1::SeqRange& range = response.ranges(i);
    if (range.last() - range.first() + 1 != requests[i].count) {
      return absl::InternalError("sequence service: range of the wrong size");
    }
    firsts.push_back(range.first());
  }
  return firsts;
}

}  // namespace im::message
