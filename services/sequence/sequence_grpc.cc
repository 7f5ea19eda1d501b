#include "services/sequence/sequence_grpc.h"

#include <vector>

#include "common/async_call.h"

namespace im::sequence {
namespace {

AllocateItem ToItem(const v1::AllocateRequest& request) {
  return AllocateItem{request.channel(), static_cast<int>(request.kind()), request.count()};
}

void ToProto(const SeqRange& range, v1::SeqRange* out) {
  out->set_first(range.first);
  out->set_last(range.last);
}

}  // namespace

grpc::ServerUnaryReactor* SequenceGrpcService::Allocate(grpc::CallbackServerContext* context,
                                                        const v1::AllocateRequest* request,
                                                        v1::AllocateResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<std::vector<SeqRange>> ranges = sequencer_->Allocate({ToItem(*request)});
    if (!ranges.ok()) return ranges.status();
    ToProto(ranges->front(), response->mutable_range());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SequenceGrpcService::AllocateBatch(
    grpc::CallbackServerContext* context, const v1::AllocateBatchRequest* request,
    v1::AllocateBatchResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    std::vector<AllocateItem> items;
    items.reserve(request->items_size());
    for (const v1::AllocateRequest& item : request->items()) items.push_back(ToItem(item));
    absl::StatusOr<std::vector<SeqRange>> ranges = sequencer_->Allocate(items);
    if (!ranges.ok()) return ranges.status();
    for (const SeqRange& range : *ranges) ToProto(range, response->add_ranges());
    return absl::OkStatus();
  });
}

}  // namespace im::sequence
