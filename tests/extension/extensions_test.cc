// The extension service's logic wired as in main.cc, in-process, on the test Postgres, with a real
// sequence service child process and a fake message service (tests/fakes): Set through the batched
// pipeline, last writer wins, compare-and-set with details, the operation log, Sync paging under
// concurrent writers on two "replicas", notifications, client rules and the log sweeper.
#include "services/extension/extensions.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/migrations.h"
#include "common/status.h"
#include "migrations_embedded.h"
#include "services/extension/extension_store.h"
#include "services/extension/oplog_sweeper.h"
#include "services/extension/set_pipeline.h"
#include "services/extension/version_client.h"
#include "tests/fakes/fake_extension_messages.h"
#include "tests/support/test_env.h"

namespace im::extension {
namespace {

using im::common::v1::Channel;

Channel Group(const std::string& id) {
  Channel channel;
  channel.set_type(im::common::v1::CHANNEL_TYPE_GROUP);
  channel.set_id(id);
  return channel;
}

Channel Person(const std::string& peer) {
  Channel channel;
  channel.set_type(im::common::v1::CHANNEL_TYPE_PERSON);
  channel.set_id(peer);
  return channel;
}

class ExtensionServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sequence_ =
        new testing::ServiceProcess(testing::BinaryPath("sequence"), {{"IM_AUTO_MIGRATE", "true"}});
    ASSERT_TRUE(sequence_->WaitServing());
  }
  static void TearDownTestSuite() {
    delete sequence_;
    sequence_ = nullptr;
  }

  void SetUp() override {
    pg_ = testing::MakePostgresPool();
    absl::StatusOr<int> migrated = ApplyMigrations(*pg_, "extension", EmbeddedMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated.status();
    store_ = std::make_unique<ExtensionStore>(pg_.get());
    versions_ = std::make_unique<VersionClient>(testing::FreshChannel(sequence_->grpc_address()),
                                                absl::Seconds(5));
    Extensions::Options options;
    options.max_ext_bytes = 1024;
    options.sync_max_limit = 50;
    options.client.channel_types = {im::common::v1::CHANNEL_TYPE_GROUP};
    options.client.ext_fields = {"votes"};
    extensions_ = std::make_unique<Extensions>(store_.get(), &messages_, versions_.get(), options);
    pipeline_ = std::make_unique<SetPipeline>(extensions_.get(), &messages_,
                                              SetPipeline::Options{.lanes = 4});
    group_ = testing::UniqueName("grp");
    key_ = "g:" + group_;
    messages_.AddGroup(group_, {"alice", "bob", "carol"});
  }

  // Set through the pipeline, as the gRPC handler does.
  SetOutcome Set(const v1::SetRequest& request) {
    absl::StatusOr<PendingSet> pending =
        extensions_->Prepare(request, absl::ToUnixMillis(absl::Now()));
    if (!pending.ok()) return SetOutcome{pending.status(), {}};
    auto promise = std::make_shared<std::promise<SetOutcome>>();
    std::future<SetOutcome> future = promise->get_future();
    EXPECT_TRUE(pipeline_->Submit(*std::move(pending),
                                  [promise](SetOutcome outcome) { promise->set_value(outcome); }));
    return future.get();
  }

  v1::SetRequest GroupSet(uint64_t message_id, const std::string& operator_uid,
                          std::optional<int32_t> status, const std::string& ext = "") {
    v1::SetRequest request;
    *request.mutable_channel() = Group(group_);
    request.set_message_id(message_id);
    request.set_operator_uid(operator_uid);
    if (status.has_value()) request.set_status(*status);
    request.set_ext(ext);
    return request;
  }

  std::vector<Operation> Log(const std::string& key) {
    absl::StatusOr<std::vector<Operation>> ops = store_->ReadOperations(key, 0, 100000);
    EXPECT_TRUE(ops.ok()) << ops.status();
    return ops.ok() ? *ops : std::vector<Operation>{};
  }

  static inline testing::ServiceProcess* sequence_ = nullptr;
  std::unique_ptr<PostgresPool> pg_;
  std::unique_ptr<ExtensionStore> store_;
  std::unique_ptr<VersionClient> versions_;
  testing::FakeExtensionMessages messages_;
  std::unique_ptr<Extensions> extensions_;
  std::unique_ptr<SetPipeline> pipeline_;
  std::string group_;
  std::string key_;
};

TEST_F(ExtensionServiceTest, SetGetAndTheOperationLog) {
  messages_.AddMessage(key_, 101, 5);
  SetOutcome first = Set(GroupSet(101, "alice", 1, R"({"title": "trip", "n": 1})"));
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_TRUE(first.response.applied());
  const v1::ExtensionValue& v1 = first.response.value();
  EXPECT_EQ(v1.message_seq(), 5);
  EXPECT_EQ(v1.status(), 1);
  EXPECT_EQ(v1.ext(), R"({"n":1,"title":"trip"})");
  EXPECT_GT(v1.version(), 0);
  EXPECT_EQ(v1.updated_by(), "alice");
  EXPECT_EQ(v1.channel().id(), group_);

  v1::SetRequest patch = GroupSet(101, "bob", std::nullopt, R"({"n": null, "ok": true})");
  patch.set_mode(v1::SET_MODE_MERGE_PATCH);
  SetOutcome second = Set(patch);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.response.value().ext(), R"({"ok":true,"title":"trip"})");
  EXPECT_EQ(second.response.value().status(), 1);
  EXPECT_GT(second.response.value().version(), v1.version());

  v1::GetRequest get;
  *get.mutable_channel() = Group(group_);
  get.add_message_ids(999);
  get.add_message_ids(101);
  absl::StatusOr<v1::GetResponse> got = extensions_->Get(get);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->values_size(), 1);
  EXPECT_EQ(got->values(0).DebugString(), second.response.value().DebugString());

  const std::vector<Operation> log = Log(key_);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_FALSE(log[0].old_status.has_value());
  EXPECT_EQ(log[0].operator_uid, "alice");
  EXPECT_EQ(log[0].new_ext, R"({"n":1,"title":"trip"})");
  EXPECT_EQ(log[1].old_ext, R"({"n":1,"title":"trip"})");
  EXPECT_EQ(log[1].new_ext, R"({"ok":true,"title":"trip"})");
  EXPECT_EQ(log[1].version, second.response.value().version());
}

TEST_F(ExtensionServiceTest, LastWriterWinsAndOlderChangesAreNotApplied) {
  messages_.AddMessage(key_, 7, 1);
  v1::SetRequest late = GroupSet(7, "bob", 2);
  late.set_timestamp(5000);
  ASSERT_TRUE(Set(late).status.ok());
  v1::SetRequest early = GroupSet(7, "alice", 3);
  early.set_timestamp(4000);
  SetOutcome outcome = Set(early);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_FALSE(outcome.response.applied());
  EXPECT_EQ(outcome.response.value().status(), 2);
  EXPECT_EQ(outcome.response.value().updated_by(), "bob");
  EXPECT_EQ(Log(key_).size(), 1u);
  // The same timestamp: the higher operator uid wins.
  v1::SetRequest tie = GroupSet(7, "carol", 4);
  tie.set_timestamp(5000);
  outcome = Set(tie);
  EXPECT_TRUE(outcome.response.applied());
  EXPECT_EQ(outcome.response.value().status(), 4);
}

TEST_F(ExtensionServiceTest, ATimestampFarInTheFutureIsRefusedNotAllowedToWinForever) {
  messages_.AddMessage(key_, 9, 1);
  v1::SetRequest forever = GroupSet(9, "bob", 2);
  forever.set_timestamp(std::numeric_limits<int64_t>::max());
  const SetOutcome refused = Set(forever);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status)) << refused.status;
  EXPECT_TRUE(Log(key_).empty());
  // Within the skew a business server's clock may run ahead of ours.
  v1::SetRequest ahead = GroupSet(9, "bob", 3);
  ahead.set_timestamp(absl::ToUnixMillis(absl::Now() + absl::Minutes(1)));
  EXPECT_TRUE(Set(ahead).status.ok());
}

TEST_F(ExtensionServiceTest, CompareAndSetReturnsTheCurrentValueInTheDetails) {
  messages_.AddMessage(key_, 8, 2);
  v1::SetRequest create = GroupSet(8, "alice", 1);
  create.set_expected_version(0);
  SetOutcome created = Set(create);
  ASSERT_TRUE(created.status.ok()) << created.status;
  const int64_t version = created.response.value().version();

  SetOutcome again = Set(create);
  ASSERT_EQ(again.status.code(), absl::StatusCode::kFailedPrecondition);
  // Across gRPC, as a caller sees it.
  const absl::Status wire = FromGrpcStatus(ToGrpcStatus(again.status));
  v1::ExtensionValue current;
  ASSERT_TRUE(GetDetails(wire, &current));
  EXPECT_EQ(current.version(), version);
  EXPECT_EQ(current.status(), 1);
  EXPECT_EQ(current.message_id(), 8u);

  v1::SetRequest update = GroupSet(8, "bob", 2);
  update.set_expected_version(version);
  SetOutcome updated = Set(update);
  ASSERT_TRUE(updated.status.ok()) << updated.status;
  EXPECT_TRUE(updated.response.applied());
  // A stale version now fails.
  update.set_status(3);
  EXPECT_EQ(Set(update).status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ExtensionServiceTest, InOneBatchAChangeSeesTheOneBeforeIt) {
  messages_.AddMessage(key_, 9, 3);
  std::vector<PendingSet> pending;
  for (const char* uid : {"alice", "bob"}) {
    v1::SetRequest request = GroupSet(9, uid, 1, absl::StrCat(R"({")", uid, R"(":1})"));
    request.set_mode(v1::SET_MODE_MERGE_PATCH);
    request.set_expected_version(0);
    absl::StatusOr<PendingSet> p = extensions_->Prepare(request, 1000);
    ASSERT_TRUE(p.ok());
    pending.push_back(*std::move(p));
  }
  v1::SetRequest merge = GroupSet(9, "carol", std::nullopt, R"({"carol":1})");
  merge.set_mode(v1::SET_MODE_MERGE_PATCH);
  pending.push_back(*extensions_->Prepare(merge, 1000));
  SetBatchResult result = extensions_->SetBatch({&pending[0], &pending[1], &pending[2]});
  ASSERT_TRUE(result.outcomes[0].status.ok()) << result.outcomes[0].status;
  // The first created it; its version was not handed out before the batch, so the second CAS fails
  // and its details carry the first one's version.
  ASSERT_EQ(result.outcomes[1].status.code(), absl::StatusCode::kFailedPrecondition);
  v1::ExtensionValue current;
  ASSERT_TRUE(GetDetails(result.outcomes[1].status, &current));
  EXPECT_EQ(current.version(), result.outcomes[0].response.value().version());
  ASSERT_TRUE(result.outcomes[2].status.ok());
  EXPECT_EQ(result.outcomes[2].response.value().ext(), R"({"alice":1,"carol":1})");
  EXPECT_EQ(result.outcomes[2].response.value().version(),
            result.outcomes[0].response.value().version() + 1);
  // One notification for the channel, both applied changes in version order.
  ASSERT_EQ(result.notifications.size(), 1u);
  ASSERT_EQ(result.notifications[0].items_size(), 1);
  const auto& changed = result.notifications[0].items(0).extension_changed();
  ASSERT_EQ(changed.values_size(), 2);
  EXPECT_LT(changed.values(0).version(), changed.values(1).version());
  EXPECT_EQ(changed.values(1).ext(), R"({"alice":1,"carol":1})");
}

TEST_F(ExtensionServiceTest, UnknownMessagesAndBadInput) {
  messages_.AddMessage(key_, 10, 1);
  SetOutcome unknown = Set(GroupSet(11, "alice", 1));
  EXPECT_EQ(unknown.status.code(), absl::StatusCode::kNotFound) << unknown.status;
  // The message exists, but in another channel.
  messages_.AddMessage("g:other-" + group_, 12, 1);
  EXPECT_EQ(Set(GroupSet(12, "alice", 1)).status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Set(GroupSet(10, "alice", std::nullopt, "[1]")).status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Set(GroupSet(10, "alice", std::nullopt, "{bad")).status.code(),
            absl::StatusCode::kInvalidArgument);
  const std::string big = R"({"a":")" + std::string(2000, 'x') + R"("})";
  EXPECT_EQ(Set(GroupSet(10, "alice", std::nullopt, big)).status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Set(GroupSet(10, "alice", std::nullopt)).status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Log(key_).empty());
  // The message service down: nothing applied, the caller can retry.
  messages_.set_fail(true);
  EXPECT_EQ(Set(GroupSet(10, "alice", 1)).status.code(), absl::StatusCode::kUnavailable);
  messages_.set_fail(false);
  EXPECT_TRUE(Set(GroupSet(10, "alice", 1)).status.ok());
  // Known now: no more lookups for it.
  const int lookups = messages_.lookups();
  EXPECT_TRUE(Set(GroupSet(10, "alice", 2)).status.ok());
  EXPECT_EQ(messages_.lookups(), lookups);
}

TEST_F(ExtensionServiceTest, PersonChatsNotifyEachPartyAsTheySeeIt) {
  const std::string a = testing::UniqueName("pa"), b = testing::UniqueName("pb");
  const std::string key = ChannelKey::For(a, Person(b))->str();
  messages_.AddMessage(key, 20, 4);
  v1::SetRequest request;
  *request.mutable_channel() = Person(b);
  request.set_message_id(20);
  request.set_operator_uid(a);
  request.set_status(1);
  SetOutcome outcome = Set(request);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.response.value().channel().id(), b);
  std::map<std::string, std::string> seen;  // recipient -> channel id it sees
  for (const auto& item : messages_.WaitForNotifyItems(2, absl::Seconds(5))) {
    if (item.uids_size() != 1 || item.extension_changed().values_size() != 1) continue;
    if (item.extension_changed().values(0).message_id() != 20) continue;
    EXPECT_EQ(item.channel().id(), item.extension_changed().values(0).channel().id());
    seen[item.uids(0)] = item.channel().id();
  }
  EXPECT_EQ(seen[a], b);
  EXPECT_EQ(seen[b], a);
  // Readers: either party, as they see it; nobody else, and not without a uid.
  v1::SyncRequest sync;
  *sync.mutable_channel() = Person(a);
  sync.set_uid(b);
  absl::StatusOr<v1::SyncResponse> page = extensions_->Sync(sync);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->values_size(), 1);
  EXPECT_EQ(page->values(0).channel().id(), a);
  sync.clear_uid();
  EXPECT_EQ(extensions_->Sync(sync).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ExtensionServiceTest, ClientRules) {
  messages_.AddMessage(key_, 30, 1);
  ASSERT_TRUE(Set(GroupSet(30, "alice", 1, R"({"title":"poll","votes":0})")).status.ok());
  v1::SetRequest vote = GroupSet(30, "bob", std::nullopt, R"({"votes":1})");
  vote.set_mode(v1::SET_MODE_MERGE_PATCH);
  vote.set_from_client(true);
  vote.set_timestamp(1);  // ignored for clients: the server's time counts
  SetOutcome outcome = Set(vote);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_TRUE(outcome.response.applied());
  EXPECT_GT(outcome.response.value().updated_at(), 1000000);
  // Another member, not allowed by configuration.
  v1::SetRequest retitle = vote;
  retitle.set_ext(R"({"title":"mine"})");
  EXPECT_EQ(Set(retitle).status.code(), absl::StatusCode::kPermissionDenied);
  v1::SetRequest status = vote;
  status.set_status(2);
  EXPECT_EQ(Set(status).status.code(), absl::StatusCode::kPermissionDenied);
  // Not a member.
  v1::SetRequest outsider = vote;
  outsider.set_operator_uid("mallory");
  EXPECT_EQ(Set(outsider).status.code(), absl::StatusCode::kPermissionDenied);
  // Person channels are closed to clients here.
  v1::SetRequest person = vote;
  *person.mutable_channel() = Person("alice");
  EXPECT_EQ(Set(person).status.code(), absl::StatusCode::kPermissionDenied);
  // Readers must belong to the group.
  v1::SyncRequest sync;
  *sync.mutable_channel() = Group(group_);
  sync.set_uid("mallory");
  EXPECT_EQ(extensions_->Sync(sync).status().code(), absl::StatusCode::kPermissionDenied);
}

// Two "replicas" (their own pipelines and sequence clients) write one channel while a reader
// pages through Sync; the reader ends with exactly the operation log's last change per message.
TEST_F(ExtensionServiceTest, SyncNeverSkipsUnderConcurrentWriters) {
  constexpr int kMessages = 40;
  constexpr int kWritesPerWriter = 150;
  for (int m = 1; m <= kMessages; ++m) messages_.AddMessage(key_, 1000 + m, m);
  VersionClient versions2(testing::FreshChannel(sequence_->grpc_address()), absl::Seconds(5));
  Extensions replica(store_.get(), &messages_, &versions2, {});
  SetPipeline pipeline2(&replica, &messages_, {.lanes = 2, .max_batch = 8});

  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  std::atomic<int> applied{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      SetPipeline& pipeline = w % 2 == 0 ? *pipeline_ : pipeline2;
      Extensions& logic = w % 2 == 0 ? *extensions_ : replica;
      for (int i = 0; i < kWritesPerWriter; ++i) {
        v1::SetRequest request = GroupSet(1000 + 1 + (i * 7 + w) % kMessages, absl::StrCat("w", w),
                                          i, absl::StrCat(R"({"w":)", w, "}"));
        absl::StatusOr<PendingSet> p = logic.Prepare(request, absl::ToUnixMillis(absl::Now()));
        auto promise = std::make_shared<std::promise<SetOutcome>>();
        auto future = promise->get_future();
        pipeline.Submit(*std::move(p), [promise](SetOutcome o) { promise->set_value(o); });
        const SetOutcome outcome = future.get();
        if (!outcome.status.ok()) failures.fetch_add(1);
        if (outcome.response.applied()) applied.fetch_add(1);
      }
    });
  }
  std::map<uint64_t, v1::ExtensionValue> local;
  int64_t cursor = 0;
  int pages = 0;
  const auto sync_to_end = [&] {
    while (true) {
      v1::SyncRequest sync;
      *sync.mutable_channel() = Group(group_);
      sync.set_since_version(cursor);
      sync.set_limit(7);
      absl::StatusOr<v1::SyncResponse> page = extensions_->Sync(sync);
      ASSERT_TRUE(page.ok()) << page.status();
      ++pages;
      int64_t last = cursor;
      for (const v1::ExtensionValue& value : page->values()) {
        ASSERT_GT(value.version(), last);
        last = value.version();
        local[value.message_id()] = value;
      }
      cursor = page->has_more() ? page->values(page->values_size() - 1).version()
                                : std::max(cursor, page->latest_version());
      if (!page->has_more()) return;
    }
  };
  std::thread reader([&] {
    while (!done.load()) sync_to_end();
  });
  for (std::thread& t : writers) t.join();
  done = true;
  reader.join();
  sync_to_end();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(pages, 10);

  std::map<uint64_t, int64_t> last_op;
  const std::vector<Operation> log = Log(key_);
  // Changes older than the current value (same millisecond, lower uid) are not logged.
  EXPECT_EQ(static_cast<int>(log.size()), applied.load());
  for (const Operation& op : log) last_op[op.message_id] = op.version;
  ASSERT_EQ(local.size(), last_op.size());
  for (const auto& [id, version] : last_op) EXPECT_EQ(local[id].version(), version) << id;
}

TEST_F(ExtensionServiceTest, TheSweeperTrimsOnlyTheLog) {
  messages_.AddMessage(key_, 40, 1);
  ASSERT_TRUE(Set(GroupSet(40, "alice", 1)).status.ok());
  ASSERT_TRUE(Set(GroupSet(40, "alice", 2)).status.ok());
  OplogSweeper keep(store_.get(), {.retention = absl::Hours(1), .interval = absl::Hours(1)});
  ASSERT_TRUE(keep.SweepOnce().ok());
  EXPECT_EQ(Log(key_).size(), 2u);
  absl::SleepFor(absl::Milliseconds(20));
  OplogSweeper sweeper(
      store_.get(), {.retention = absl::Milliseconds(10), .interval = absl::Hours(1), .chunk = 1});
  absl::StatusOr<int64_t> deleted = sweeper.SweepOnce();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_GE(*deleted, 2);
  EXPECT_TRUE(Log(key_).empty());
  v1::GetRequest get;
  *get.mutable_channel() = Group(group_);
  get.add_message_ids(40);
  EXPECT_EQ(extensions_->Get(get)->values(0).status(), 2);
}

}  // namespace
}  // namespace im::extension
