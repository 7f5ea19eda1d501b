// Message extensions end to end: real sequence, message, conversation, extension and gateway
// processes, WebSocket clients, business-server gRPC calls, and the operation log read from the
// test Postgres.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "services/extension/extension_store.h"
#include "tests/e2e/suite_fixture.h"

namespace im::testing {
namespace {

namespace common = im::common::v1;
namespace ext = im::extension::v1;
using client::GroupChannel;
using client::ImClient;

struct Config {
  static SuiteOptions Options() {
    SuiteOptions options;
    // Clients may vote on group messages, nothing else.
    options.extension_env = {{"IM_CLIENT_CHANNEL_TYPES", "group"},
                             {"IM_CLIENT_EXT_FIELDS", "votes"},
                             {"IM_EXT_MAX_BYTES", "4096"}};
    return options;
  }
};

class ExtensionE2eTest : public SuiteTest<Config> {
 protected:
  // ExtensionService.Set over gRPC as a business server.
  static grpc::Status Set(const ext::SetRequest& request, ext::SetResponse* response) {
    auto stub = suite_->Extensions();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub->Set(&context, request, response);
  }

  static ext::SetRequest GroupSet(const std::string& group, uint64_t message_id,
                                  const std::string& operator_uid) {
    ext::SetRequest request;
    *request.mutable_channel() = GroupChannel(group);
    request.set_message_id(message_id);
    request.set_operator_uid(operator_uid);
    return request;
  }

  static ext::GetResponse Get(const std::string& group, const std::vector<uint64_t>& ids) {
    auto stub = suite_->Extensions();
    ext::GetRequest request;
    *request.mutable_channel() = GroupChannel(group);
    for (uint64_t id : ids) request.add_message_ids(id);
    grpc::ClientContext context;
    ext::GetResponse response;
    const grpc::Status status = stub->Get(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // A group card sent by the business server; its message id.
  static uint64_t SendCard(const std::string& group, const std::string& text) {
    common::MessageFlags flags;
    const auto result =
        suite_->ApiSend("biz-bot", GroupChannel(group), UniqueName("card"), text, flags);
    EXPECT_EQ(result.reason(), common::REASON_CODE_SUCCESS) << result.message();
    return result.message_id();
  }

  // EXTENSION_CHANGED pushes until one carries `version` of `message_id` (or `timeout`); RECVs
  // and other pushes are skipped.
  static std::vector<ext::ExtensionValue> ChangesUntil(ImClient& client, uint64_t message_id,
                                                       int64_t version, absl::Duration timeout) {
    std::vector<ext::ExtensionValue> values;
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::optional<client::Frame> frame = client.NextPush(deadline - absl::Now());
      if (!frame.has_value()) break;
      if (!frame->has_extension_changed()) continue;
      for (const ext::ExtensionValue& value : frame->extension_changed().values()) {
        values.push_back(value);
        if (value.message_id() == message_id && value.version() == version) return values;
      }
    }
    return values;
  }

  // Every page of a channel's extension sync over WebSocket from `since`; the values by message.
  static std::map<uint64_t, ext::ExtensionValue> SyncAll(ImClient& client, const std::string& group,
                                                         int64_t* since, uint32_t limit) {
    std::map<uint64_t, ext::ExtensionValue> values;
    for (int page = 0; page < 100000; ++page) {
      client::ExtensionSyncRequest request;
      *request.mutable_channel() = GroupChannel(group);
      request.set_since_version(*since);
      request.set_limit(limit);
      auto response = client.ExtensionSync(request);
      EXPECT_TRUE(response.ok()) << response.status();
      if (!response.ok()) return values;
      EXPECT_EQ(response->reason(), common::REASON_CODE_SUCCESS) << response->message();
      int64_t last = *since;
      for (const ext::ExtensionValue& value : response->values()) {
        EXPECT_GT(value.version(), last) << "versions ascend and follow since_version";
        last = value.version();
        values[value.message_id()] = value;
      }
      if (!response->has_more()) {
        *since = std::max(*since, response->latest_version());
        return values;
      }
      *since = last;
    }
    ADD_FAILURE() << "the sync never ended";
    return values;
  }
};

// Seed 001's approval: a card sent by the business server, approved through Set; every online
// device of every member hears of it at once, an offline member syncs it on reconnect.
TEST_F(ExtensionE2eTest, ApprovalFlow) {
  const std::string group = UniqueName("approvals");
  const std::string boss = UniqueName("boss"), clerk = UniqueName("clerk"),
                    away = UniqueName("away");
  suite_->CreateGroup(group, {boss, clerk, away});
  auto boss_phone = suite_->Login(boss, "phone");
  auto boss_desktop =
      suite_->Login(boss, "desktop", 0, client::Encoding::kJson, common::DEVICE_FLAG_DESKTOP);
  auto clerk_phone = suite_->Login(clerk, "phone");
  const uint64_t card = SendCard(group, R"({"type":"approval","amount":120})");
  for (ImClient* c : {boss_phone.get(), boss_desktop.get(), clerk_phone.get()}) {
    std::optional<common::Message> got = NextRecv(*c);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->message_id(), card);
  }

  ext::SetRequest approve = GroupSet(group, card, boss);
  approve.set_status(1);
  approve.set_ext(R"({"decision":"approved","by":")" + boss + R"("})");
  ext::SetResponse approved;
  const grpc::Status status = Set(approve, &approved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(approved.applied());
  const ext::ExtensionValue& value = approved.value();
  EXPECT_EQ(value.status(), 1);
  EXPECT_GT(value.message_seq(), 0);

  for (ImClient* c : {boss_phone.get(), boss_desktop.get(), clerk_phone.get()}) {
    std::vector<ext::ExtensionValue> changes =
        ChangesUntil(*c, card, value.version(), absl::Seconds(10));
    ASSERT_FALSE(changes.empty()) << "no EXTENSION_CHANGED";
    const ext::ExtensionValue& pushed = changes.back();
    EXPECT_EQ(pushed.message_id(), card);
    EXPECT_EQ(pushed.status(), 1);
    EXPECT_EQ(pushed.ext(), value.ext());
    EXPECT_EQ(pushed.channel().id(), group);
    EXPECT_EQ(pushed.message_seq(), value.message_seq());
  }

  // The offline member reconnects and catches up from its last version (none).
  auto away_phone = suite_->Login(away, "phone");
  int64_t since = 0;
  std::map<uint64_t, ext::ExtensionValue> synced = SyncAll(*away_phone, group, &since, 0);
  ASSERT_EQ(synced.size(), 1u);
  EXPECT_EQ(synced[card].status(), 1);
  EXPECT_EQ(synced[card].version(), value.version());
  EXPECT_EQ(since, value.version());
  // Nothing new after that.
  EXPECT_TRUE(SyncAll(*away_phone, group, &since, 0).empty());
}

// Four business-server writers on one message at once: every client ends with the same value,
// which Get, the last notification and a sync agree on; a stale compare-and-set returns the
// current version.
TEST_F(ExtensionE2eTest, FourConcurrentWritersConverge) {
  const std::string group = UniqueName("vote");
  std::vector<std::string> members;
  for (int i = 0; i < 3; ++i) members.push_back(UniqueName("m"));
  suite_->CreateGroup(group, members);
  std::vector<std::unique_ptr<ImClient>> clients;
  for (const std::string& uid : members) clients.push_back(suite_->Login(uid, "phone"));
  const uint64_t card = SendCard(group, "poll");
  for (auto& c : clients) ASSERT_TRUE(NextRecv(*c).has_value());

  constexpr int kWrites = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kWrites; ++i) {
        ext::SetRequest request = GroupSet(group, card, absl::StrCat("writer", w));
        request.set_status(w * 100 + i);
        request.set_mode(ext::SET_MODE_MERGE_PATCH);
        request.set_ext(absl::StrCat(R"({"w)", w, R"(":)", i, R"(,"last":)", w, "}"));
        ext::SetResponse response;
        if (!Set(request, &response).ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  ext::GetResponse got = Get(group, {card});
  ASSERT_EQ(got.values_size(), 1);
  const ext::ExtensionValue& final_value = got.values(0);
  // The value is the winner's change merged over the earlier winners (last writer wins drops
  // merges older than the current value, so not every writer's last merge survives).
  ASSERT_EQ(final_value.updated_by().rfind("writer", 0), 0u) << final_value.updated_by();
  const int winner = final_value.updated_by().back() - '0';
  EXPECT_EQ(final_value.status() / 100, winner);
  EXPECT_NE(final_value.ext().find(absl::StrCat(R"("last":)", winner)), std::string::npos)
      << final_value.ext();
  EXPECT_NE(
      final_value.ext().find(absl::StrCat(R"("w)", winner, R"(":)", final_value.status() % 100)),
      std::string::npos)
      << final_value.ext();
  for (auto& c : clients) {
    std::vector<ext::ExtensionValue> changes =
        ChangesUntil(*c, card, final_value.version(), absl::Seconds(15));
    ASSERT_FALSE(changes.empty());
    EXPECT_EQ(changes.back().version(), final_value.version()) << "the last notification";
    EXPECT_EQ(changes.back().status(), final_value.status());
    EXPECT_EQ(changes.back().ext(), final_value.ext());
    for (size_t i = 1; i < changes.size(); ++i) {
      EXPECT_GT(changes[i].version(), changes[i - 1].version()) << "pushed in version order";
    }
    int64_t since = 0;
    auto synced = SyncAll(*c, group, &since, 0);
    EXPECT_EQ(synced[card].DebugString(), final_value.DebugString());
  }

  // A stale compare-and-set, over gRPC and from a client: FAILED_PRECONDITION with the current.
  ext::SetRequest stale = GroupSet(group, card, "writer0");
  stale.set_status(9);
  stale.set_expected_version(final_value.version() - 1);
  ext::SetResponse ignored;
  const grpc::Status status = Set(stale, &ignored);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ext::ExtensionValue current;
  ASSERT_TRUE(GetDetails(FromGrpcStatus(status), &current));
  EXPECT_EQ(current.version(), final_value.version());
  EXPECT_EQ(current.ext(), final_value.ext());

  client::ExtensionSetRequest vote;
  *vote.mutable_channel() = GroupChannel(group);
  vote.set_message_id(card);
  vote.set_ext(R"({"votes":1})");
  vote.set_mode(ext::SET_MODE_MERGE_PATCH);
  vote.set_expected_version(final_value.version() - 1);
  auto answer = clients[0]->ExtensionSet(vote);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->reason(), common::REASON_CODE_FAILED_PRECONDITION);
  EXPECT_EQ(answer->value().version(), final_value.version());
  // With the current version it applies.
  vote.set_expected_version(final_value.version());
  answer = clients[0]->ExtensionSet(vote);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->reason(), common::REASON_CODE_SUCCESS) << answer->message();
  EXPECT_TRUE(answer->applied());
  EXPECT_EQ(answer->value().updated_by(), members[0]);
}

// A client pages through Sync while four writers change 20 messages; afterwards what it holds is
// exactly the operation log's last change of each message.
TEST_F(ExtensionE2eTest, SyncUnderConcurrentWritersNeverSkips) {
  const std::string group = UniqueName("busy");
  const std::string reader_uid = UniqueName("reader");
  suite_->CreateGroup(group, {reader_uid});
  std::vector<uint64_t> cards;
  for (int i = 0; i < 20; ++i) cards.push_back(SendCard(group, absl::StrCat("card ", i)));
  auto reader = suite_->Login(reader_uid, "phone");

  std::atomic<bool> done{false};
  std::atomic<int> applied{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 60; ++i) {
        ext::SetRequest request =
            GroupSet(group, cards[(i * 3 + w) % cards.size()], absl::StrCat("w", w));
        request.set_status(i);
        ext::SetResponse response;
        if (Set(request, &response).ok() && response.applied()) applied.fetch_add(1);
      }
    });
  }
  std::map<uint64_t, ext::ExtensionValue> local;
  int64_t since = 0;
  int rounds = 0;
  std::thread paging([&] {
    while (!done.load()) {
      for (auto& [id, value] : SyncAll(*reader, group, &since, 5)) local[id] = value;
      ++rounds;
    }
  });
  for (std::thread& t : writers) t.join();
  done = true;
  paging.join();
  for (auto& [id, value] : SyncAll(*reader, group, &since, 5)) local[id] = value;
  EXPECT_GT(rounds, 1);

  PostgresPool pg({.dsn = PostgresDsn(), .size = 1});
  im::extension::ExtensionStore store(&pg);
  absl::StatusOr<std::vector<im::extension::Operation>> log =
      store.ReadOperations(absl::StrCat("g:", group), 0, 100000);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(static_cast<int>(log->size()), applied.load());
  std::map<uint64_t, const im::extension::Operation*> last;
  for (const auto& op : *log) last[op.message_id] = &op;
  ASSERT_EQ(local.size(), last.size());
  for (const auto& [id, op] : last) {
    EXPECT_EQ(local[id].version(), op->version) << id;
    EXPECT_EQ(local[id].status(), op->new_status) << id;
    EXPECT_EQ(local[id].updated_by(), op->operator_uid) << id;
  }
  EXPECT_EQ(since, log->back().version);
}

TEST_F(ExtensionE2eTest, BadInputGetsTheRightCodes) {
  const std::string group = UniqueName("bad");
  const std::string member = UniqueName("mem"), outsider = UniqueName("out");
  suite_->CreateGroup(group, {member});
  const uint64_t card = SendCard(group, "card");
  ext::SetResponse response;

  ext::SetRequest not_object = GroupSet(group, card, "biz");
  not_object.set_ext(R"(["a"])");
  grpc::Status status = Set(not_object, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("object"), std::string::npos) << status.error_message();

  ext::SetRequest not_json = GroupSet(group, card, "biz");
  not_json.set_ext(R"({"a":)");
  EXPECT_EQ(Set(not_json, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  ext::SetRequest too_big = GroupSet(group, card, "biz");
  too_big.set_ext(R"({"a":")" + std::string(5000, 'x') + R"("})");
  status = Set(too_big, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("4096"), std::string::npos) << status.error_message();

  ext::SetRequest unknown = GroupSet(group, card + 1000003, "biz");
  unknown.set_status(1);
  EXPECT_EQ(Set(unknown, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  ext::SetRequest other_group = GroupSet(UniqueName("none"), card, "biz");
  other_group.set_status(1);
  EXPECT_EQ(Set(other_group, &response).error_code(), grpc::StatusCode::NOT_FOUND);

  // Clients: only "votes" on groups they belong to, no status.
  auto mem = suite_->Login(member, "phone");
  auto out = suite_->Login(outsider, "phone");
  client::ExtensionSetRequest request;
  *request.mutable_channel() = GroupChannel(group);
  request.set_message_id(card);
  request.set_ext(R"({"title":"mine"})");
  auto answer = mem->ExtensionSet(request);
  ASSERT_TRUE(answer.ok());
  EXPECT_EQ(answer->reason(), common::REASON_CODE_PERMISSION_DENIED) << answer->message();
  request.set_ext(R"({"votes":1})");
  request.set_status(2);
  EXPECT_EQ(mem->ExtensionSet(request)->reason(), common::REASON_CODE_PERMISSION_DENIED);
  request.clear_status();
  EXPECT_EQ(out->ExtensionSet(request)->reason(), common::REASON_CODE_NOT_SUBSCRIBER);
  client::ExtensionSetRequest person = request;
  *person.mutable_channel() = client::PersonChannel(outsider);
  EXPECT_EQ(mem->ExtensionSet(person)->reason(), common::REASON_CODE_PERMISSION_DENIED);
  request.set_ext("[1]");
  EXPECT_EQ(mem->ExtensionSet(request)->reason(), common::REASON_CODE_INVALID_ARGUMENT);
  client::ExtensionSyncRequest sync;
  *sync.mutable_channel() = GroupChannel(group);
  EXPECT_EQ(out->ExtensionSync(sync)->reason(), common::REASON_CODE_NOT_SUBSCRIBER);
  // None of it changed anything; the allowed vote still works.
  EXPECT_EQ(Get(group, {card}).values_size(), 0);
  request.set_ext(R"({"votes":1})");
  answer = mem->ExtensionSet(request);
  EXPECT_EQ(answer->reason(), common::REASON_CODE_SUCCESS) << answer->message();
  EXPECT_EQ(answer->value().ext(), R"({"votes":1})");
}

}  // namespace
}  // namespace im::testing
