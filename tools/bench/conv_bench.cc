// Conversation-list and group-send costs of a running suite (issue 4), over gRPC as a business
// server calls it:
//   1. For a user with N conversations (N person chats, one message each, set up through
//      MessageService.Send), the latency of a full ConversationService.Sync pass (every page, limit
//      --limit) and of an incremental sync right after, repeated --iterations times.
//   2. Send->ack latency of single-message sends into a group of --big_group members and into a
//      group of 2: read diffusion makes them cost the same.
//
//   scripts/run.sh &   # then:
//   build/tools/bench/conv_bench --sizes 1000,10000
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
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

ABSL_FLAG(std::string, message, "127.0.0.1:7003", "Message service gRPC address.");
ABSL_FLAG(std::string, conversation, "127.0.0.1:7004", "Conversation service gRPC address.");
ABSL_FLAG(std::string, sizes, "1000,10000", "Conversation counts to measure.");
ABSL_FLAG(int, iterations, 50, "Full sync passes per size.");
ABSL_FLAG(int, limit, 1000, "Sync page size.");
ABSL_FLAG(int, big_group, 10000, "Members of the large group.");
ABSL_FLAG(int, sends, 300, "Sends into each group.");

namespace {

namespace conv = im::conversation::v1;
namespace msg = im::message::v1;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// p50 / p99 / max of a sample, as one string.
std::string Percentiles(std::vector<double> values) {
  if (values.empty()) return "no samples";
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    return values[std::min(values.size() - 1, size_t(q * values.size()))];
  };
  char line[128];
  std::snprintf(line, sizeof(line), "p50 %.2f ms  p99 %.2f ms  max %.2f ms (n=%zu)", at(0.50),
                at(0.99), values.back(), values.size());
  return line;
}

im::common::v1::Channel Channel(im::common::v1::ChannelType type, const std::string& id) {
  im::common::v1::Channel channel;
  channel.set_type(type);
  channel.set_id(id);
  return channel;
}

bool Check(const grpc::Status& status, const char* what) {
  if (status.ok()) return true;
  std::fprintf(stderr, "%s failed: %s\n", what, status.error_message().c_str());
  return false;
}

bool SendAll(msg::MessageService::Stub& stub, const msg::SendRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  msg::SendResponse response;
  if (!Check(stub.Send(&context, request, &response), "Send")) return false;
  for (const auto& result : response.results()) {
    if (result.reason() != im::common::v1::REASON_CODE_SUCCESS) {
      std::fprintf(stderr, "send item failed: %s\n", result.message().c_str());
      return false;
    }
  }
  return true;
}

// One full pass of the user's list; returns its duration and the conversations seen, or -1.
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
    if (!Check(stub.Sync(&context, request, &response), "Sync")) return -1;
    *seen += response.conversations_size();
    cursor = response.next_cursor();
    if (!response.has_more()) break;
  }
  *final_cursor = cursor;
  return Ms(Clock::now() - start);
}

bool MeasureSync(msg::MessageService::Stub& messages, conv::ConversationService::Stub& convs,
                 int size) {
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  const std::string uid = absl::StrCat("cb", run, "u", size);
  const auto setup_start = Clock::now();
  for (int first = 0; first < size; first += 500) {
    msg::SendRequest request;
    for (int i = first; i < std::min(size, first + 500); ++i) {
      msg::SendItem* item = request.add_items();
      *item->mutable_channel() = Channel(im::common::v1::CHANNEL_TYPE_PERSON, uid);
      item->set_from_uid(absl::StrCat("cb", run, "p", i));
      item->set_client_msg_no("1");
      item->set_payload("hello");
    }
    if (!SendAll(messages, request)) return false;
  }
  std::printf("setup: %d conversations in %.0f ms\n", size, Ms(Clock::now() - setup_start));

  std::vector<double> full, incremental;
  for (int i = 0; i < absl::GetFlag(FLAGS_iterations); ++i) {
    int seen = 0;
    std::string cursor;
    const double ms = FullSync(convs, uid, &seen, &cursor);
    if (ms < 0) return false;
    if (seen != size) {
      std::fprintf(stderr, "full sync returned %d conversations, expected %d\n", seen, size);
      return false;
    }
    full.push_back(ms);
    conv::SyncRequest request;
    request.set_uid(uid);
    request.set_cursor(cursor);
    grpc::ClientContext context;
    conv::SyncResponse response;
    const auto start = Clock::now();
    if (!Check(convs.Sync(&context, request, &response), "incremental Sync")) return false;
    incremental.push_back(Ms(Clock::now() - start));
  }
  std::printf("%6d conversations, full sync (pages of %d): %s\n", size, absl::GetFlag(FLAGS_limit),
              Percentiles(full).c_str());
  std::printf("%6d conversations, incremental sync, nothing new: %s\n", size,
              Percentiles(incremental).c_str());
  return true;
}

bool MeasureGroupSend(msg::MessageService::Stub& messages, grpc::Channel* channel, int members) {
  auto groups =
      msg::ChannelService::NewStub(std::shared_ptr<grpc::Channel>(channel, [](grpc::Channel*) {}));
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  const std::string group_id = absl::StrCat("cbg", run, "m", members);
  msg::CreateGroupRequest create;
  create.set_group_id(group_id);
  for (int i = 0; i < members; ++i) create.add_subscriber_uids(absl::StrCat("cbg", run, "u", i));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  msg::Group group;
  const auto create_start = Clock::now();
  if (!Check(groups->CreateGroup(&context, create, &group), "CreateGroup")) return false;
  const double create_ms = Ms(Clock::now() - create_start);

  std::vector<double> latencies;
  for (int i = 0; i < absl::GetFlag(FLAGS_sends); ++i) {
    msg::SendRequest request;
    msg::SendItem* item = request.add_items();
    *item->mutable_channel() = Channel(im::common::v1::CHANNEL_TYPE_GROUP, group_id);
    item->set_from_uid(create.subscriber_uids(0));
    item->set_client_msg_no(absl::StrCat(i));
    item->set_payload("hello group");
    const auto start = Clock::now();
    if (!SendAll(messages, request)) return false;
    latencies.push_back(Ms(Clock::now() - start));
  }
  std::printf("group of %5d (created in %.0f ms), send->ack: %s\n", members, create_ms,
              Percentiles(latencies).c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto message_channel =
      grpc::CreateChannel(absl::GetFlag(FLAGS_message), grpc::InsecureChannelCredentials());
  auto messages = msg::MessageService::NewStub(message_channel);
  auto convs = conv::ConversationService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_conversation), grpc::InsecureChannelCredentials()));
  for (absl::string_view text : absl::StrSplit(absl::GetFlag(FLAGS_sizes), ',')) {
    int size = 0;
    if (!absl::SimpleAtoi(text, &size) || size < 1) {
      std::fprintf(stderr, "bad --sizes entry '%s'\n", std::string(text).c_str());
      return 2;
    }
    if (!MeasureSync(*messages, *convs, size)) return 1;
  }
  for (int members : {2, absl::GetFlag(FLAGS_big_group)}) {
    if (!MeasureGroupSend(*messages, message_channel.get(), members)) return 1;
  }
  return 0;
}
