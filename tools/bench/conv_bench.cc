// Conversation-list and group-send costs of a running suite, over gRPC as a business server calls
// it:
//   1. For a user with N conversations (N person chats, one message each, set up through
//      MessageService.Send), the latency of a full ConversationService.Sync pass (every page, limit
//      --limit) and of an incremental sync right after, repeated --iterations times.
//   2. Send->ack latency of single-message sends into a group of --big_group members and into a
//      group of 2: read diffusion makes them cost the same.
//
//   scripts/run.sh &   # then:
//   build/tools/bench/conv_bench --sizes 1000,10000
// (the addresses come from run.sh's stack file, see bench_support.h; --message and --conversation
// name others.)
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "im/conversation/v1/conversation.grpc.pb.h"
#include "im/message/v1/message.grpc.pb.h"
#include "tools/bench/bench_support.h"
#include "tools/client/im_client.h"

ABSL_FLAG(std::string, message, "", "Message service gRPC address; default: the stack's.");
ABSL_FLAG(std::string, conversation, "",
          "Conversation service gRPC address; default: the stack's.");
ABSL_FLAG(std::string, sizes, "1000,10000", "Conversation counts to measure.");
ABSL_FLAG(int, iterations, 50, "Full sync passes per size.");
ABSL_FLAG(int, limit, 1000, "Sync page size.");
ABSL_FLAG(int, big_group, 10000, "Members of the large group.");
ABSL_FLAG(int, sends, 300, "Sends into each group.");

namespace {

namespace conv = im::conversation::v1;
namespace msg = im::message::v1;
using im::bench::Check;
using im::bench::Clock;
using im::bench::Ms;
using im::bench::Percentiles;

void SendAll(msg::MessageService::Stub& stub, const msg::SendRequest& request) {
  grpc::ClientContext context;
  im::bench::SetDeadline(context, absl::Seconds(30));
  msg::SendResponse response;
  Check(stub.Send(&context, request, &response), "Send");
  for (const auto& result : response.results()) {
    if (result.reason() != im::common::v1::REASON_CODE_SUCCESS) {
      im::bench::Die(absl::StrCat("send item failed: ", result.message()));
    }
  }
}

// One full pass of the user's list; returns its duration and the conversations seen.
double FullSync(conv::ConversationService::Stub& stub, const std::string& uid, int* seen,
                std::string* final_cursor) {
  std::string cursor;
  *seen = 0;
  const auto start = Clock::now();
  while (true) {
    conv::SyncRequest request;
    request.set_uid(uid);
    request.set_cursor(cursor);
    request.set_limit(absl::GetFlag(FLAGS_limit));
    grpc::ClientContext context;
    conv::SyncResponse response;
    Check(stub.Sync(&context, request, &response), "Sync");
    *seen += response.conversations_size();
    cursor = response.next_cursor();
    if (!response.has_more()) break;
  }
  *final_cursor = cursor;
  return Ms(Clock::now() - start);
}

void MeasureSync(msg::MessageService::Stub& messages, conv::ConversationService::Stub& convs,
                 int size) {
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  const std::string uid = absl::StrCat("cb", run, "u", size);
  const auto setup_start = Clock::now();
  for (int first = 0; first < size; first += 500) {
    msg::SendRequest request;
    for (int i = first; i < std::min(size, first + 500); ++i) {
      msg::SendItem* item = request.add_items();
      *item->mutable_channel() = im::client::PersonChannel(uid);
      item->set_from_uid(absl::StrCat("cb", run, "p", i));
      item->set_client_msg_no("1");
      item->set_payload("hello");
    }
    SendAll(messages, request);
  }
  std::printf("setup: %d conversations in %.0f ms\n", size, Ms(Clock::now() - setup_start));

  std::vector<double> full, incremental;
  for (int i = 0; i < absl::GetFlag(FLAGS_iterations); ++i) {
    int seen = 0;
    std::string cursor;
    const double ms = FullSync(convs, uid, &seen, &cursor);
    if (seen != size) {
      im::bench::Die(absl::StrCat("full sync returned ", seen, " conversations, expected ", size));
    }
    full.push_back(ms);
    conv::SyncRequest request;
    request.set_uid(uid);
    request.set_cursor(cursor);
    grpc::ClientContext context;
    conv::SyncResponse response;
    const auto start = Clock::now();
    Check(convs.Sync(&context, request, &response), "incremental Sync");
    incremental.push_back(Ms(Clock::now() - start));
  }
  std::printf("%6d conversations, full sync (pages of %d): %s\n", size, absl::GetFlag(FLAGS_limit),
              Percentiles(full).c_str());
  std::printf("%6d conversations, incremental sync, nothing new: %s\n", size,
              Percentiles(incremental).c_str());
}

void MeasureGroupSend(msg::MessageService::Stub& messages, msg::ChannelService::Stub& channels,
                      int members) {
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  const std::string group_id = absl::StrCat("cbg", run, "m", members);
  std::vector<std::string> uids;
  for (int i = 0; i < members; ++i) uids.push_back(absl::StrCat("cbg", run, "u", i));
  const auto create_start = Clock::now();
  im::bench::CreateGroup(channels, group_id, uids);
  const double create_ms = Ms(Clock::now() - create_start);

  std::vector<double> latencies;
  for (int i = 0; i < absl::GetFlag(FLAGS_sends); ++i) {
    msg::SendRequest request;
    msg::SendItem* item = request.add_items();
    *item->mutable_channel() = im::client::GroupChannel(group_id);
    item->set_from_uid(uids[0]);
    item->set_client_msg_no(absl::StrCat(i));
    item->set_payload("hello group");
    const auto start = Clock::now();
    SendAll(messages, request);
    latencies.push_back(Ms(Clock::now() - start));
  }
  std::printf("group of %5d (created in %.0f ms), send->ack: %s\n", members, create_ms,
              Percentiles(latencies).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto message_channel = grpc::CreateChannel(im::bench::GrpcAddress(FLAGS_message, "message"),
                                             grpc::InsecureChannelCredentials());
  auto messages = msg::MessageService::NewStub(message_channel);
  auto channels = msg::ChannelService::NewStub(message_channel);
  auto convs = conv::ConversationService::NewStub(
      grpc::CreateChannel(im::bench::GrpcAddress(FLAGS_conversation, "conversation"),
                          grpc::InsecureChannelCredentials()));
  for (absl::string_view text : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',')) {
    int size = 0;
    if (!absl::SimpleAtoi(text, &size) || size < 1) {
      im::bench::Die(absl::StrCat("bad --sizes entry '", text, "'"));
    }
    MeasureSync(*messages, *convs, size);
  }
  for (int members : {2, absl::GetFlag(FLAGS_big_group)}) {
    MeasureGroupSend(*messages, *channels, members);
  }
  return 0;
}
