#include "services/extension/version_client.h"

#include "common/status.h"

namespace im::extension {

VersionClient::VersionClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
    : stub_(im::sequence::v1::SequenceService::NewStub(std::move(channel))), timeout_(timeout) {}

absl::StatusOr<std::vector<int64_t>> VersionClient::Allocate(
    const std::vector<std::pair<std::string, uint32_t>>& counts) {
  std::vector<int64_t> firsts;
  if (counts.empty()) return firsts;
  im::sequence::v1::AllocateBatchRequest request;
  for (const auto& [key, count] : counts) {
    im::sequence::v1::AllocateRequest* item = request.add_items();
    item->set_channel(key);
    item->set_kind(im::sequence::v1::COUNTER_KIND_EXTENSION_VERSION);
    item->set_count(count);
  }
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  im::sequence::v1::AllocateBatchResponse response;
  const grpc::Status status = stub_->AllocateBatch(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, "sequence service");
  if (response.ranges_size() != request.items_size()) {
    return absl::InternalError("sequence service: wrong number of ranges");
  }
  for (int i = 0; i < response.ranges_size(); ++i) {
    const im::sequence::v1::SeqRange& range = response.ranges(i);
    if (range.last() - range.first() + 1 != counts[i].second) {
      return absl::InternalError("sequence service: range of the wrong size");
    }
    firsts.push_back(range.first());
  }
  return firsts;
}

}  // namespace im::extension
