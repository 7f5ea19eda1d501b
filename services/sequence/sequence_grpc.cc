#include "services/sequence/sequence_grpc.h"

#include <string>
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

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& values) {
  return {values.begin(), values.end()};
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

grpc::ServerUnaryReactor* SequenceGrpcService::GetMaxSeqs(grpc::CallbackServerContext* context,
                                                          const v1::GetMaxSeqsRequest* request,
                                                          v1::GetMaxSeqsResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<std::vector<int64_t>> max =
        sequencer_->GetMaxSeqs(Strings(request->channels()), static_cast<int>(request->kind()));
    if (!max.ok()) return max.status();
    response->mutable_max_seqs()->Add(max->begin(), max->end());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SequenceGrpcService::SetReadSeq(grpc::CallbackServerContext* context,
                                                          const v1::SetReadSeqRequest* request,
                                                          v1::SetReadSeqResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<int64_t> stored =
        sequencer_->SetReadSeq(request->uid(), request->channel(), request->seq());
    if (!stored.ok()) return stored.status();
    response->set_read_seq(*stored);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SequenceGrpcService::GetReadSeqs(grpc::CallbackServerContext* context,
                                                           const v1::GetReadSeqsRequest* request,
                                                           v1::GetReadSeqsResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<std::vector<int64_t>> reads =
        sequencer_->GetReadSeqs(request->uid(), Strings(request->channels()));
    if (!reads.ok()) return reads.status();
    response->mutable_read_seqs()->Add(reads->begin(), reads->end());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SequenceGrpcService::GetChannelSeqs(
    grpc::CallbackServerContext* context, const v1::GetChannelSeqsRequest* request,
    v1::GetChannelSeqsResponse* response) {
  return RunOnWorkers(context, *workers_, [this, request, response]() -> absl::Status {
    absl::StatusOr<std::vector<ChannelSeqs>> seqs =
        sequencer_->GetChannelSeqs(request->uid(), Strings(request->channels()));
    if (!seqs.ok()) return seqs.status();
    for (const ChannelSeqs& s : *seqs) {
      v1::ChannelSeqs* out = response->add_channels();
      out->set_channel(s.channel);
      out->set_max_seq(s.max_seq);
      out->set_read_seq(s.read_seq);
    }
    return absl::OkStatus();
  });
}

}  // namespace im::sequence
