// The message service's logic wired as in main.cc, in-process, on the test Postgres and Redis,
// with a real sequence service child process, a fake conversation service recording Ensure and
// AdvanceReads, and fake gateways recording deliveries. The cmd expander runs (polling every
// 200 ms) unless a test stops it with StopCmdExpander().
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/migrations.h"
#include "migrations_embedded.h"
#include "prometheus/registry.h"
#include "services/gateway/public/presence_store.h"
#include "services/message/channel_store.h"
#include "services/message/channels.h"
#include "services/message/cmd_expander.h"
#include "services/message/cmd_inbox.h"
#include "services/message/cmd_store.h"
#include "services/message/conversation_client.h"
#include "services/message/fanout.h"
#include "services/message/gateway_clients.h"
#include "services/message/heads_reader.h"
#include "services/message/id_generator.h"
#include "services/message/message_reader.h"
#include "services/message/message_store.h"
#include "services/message/node_lease.h"
#include "services/message/send_pipeline.h"
#include "services/message/send_processor.h"
#include "services/message/sequence_client.h"
#include "tests/fakes/fake_conversation.h"
#include "tests/fakes/fake_gateway.h"
#include "tests/support/test_env.h"

namespace im::message {

namespace v1 = im::message::v1;
using im::common::v1::Channel;

// Runs `items` through `processor` as one batch, keyed as the send pipeline keys them.
inline std::vector<SendOutcome> ProcessAll(SendProcessor& processor,
                                           const std::vector<const v1::SendItem*>& items) {
  std::vector<KeyedSendItem> keyed;
  keyed.reserve(items.size());
  for (const v1::SendItem* item : items) keyed.emplace_back(*item);
  std::vector<const KeyedSendItem*> batch;
  for (const KeyedSendItem& item : keyed) batch.push_back(&item);
  return processor.Process(batch);
}

class MessageFixture : public ::testing::Test {
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
    redis_ = testing::MakeRedisPool();
    absl::StatusOr<int> migrated = ApplyMigrations(*pg_, "message", EmbeddedMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated.status();
    absl::StatusOr<std::unique_ptr<NodeLease>> lease = NodeLease::Acquire(pg_.get(), {});
    ASSERT_TRUE(lease.ok()) << lease.status();
    lease_ = *std::move(lease);
    ids_ = std::make_unique<IdGenerator>(lease_.get());
    channel_store_ = std::make_unique<ChannelStore>(pg_.get());
    message_store_ = std::make_unique<MessageStore>(pg_.get());
    sequence_client_ = std::make_unique<SequenceClient>(
        testing::FreshChannel(sequence_->grpc_address()), absl::Seconds(5));
    presence_ = std::make_unique<gateway::PresenceStore>(*redis_, absl::Seconds(60));
    gateways_ = std::make_unique<GatewayClients>(absl::Seconds(2));
    registry_ = std::make_shared<prometheus::Registry>();
    conversations_ = std::make_unique<testing::FakeConversation>();
    conversation_client_ =
        std::make_unique<ConversationClient>(testing::FreshChannel(conversations_->address()),
                                             ConversationClient::Options{}, *registry_);
    fanout_ = std::make_unique<Fanout>(channel_store_.get(), presence_.get(), gateways_.get(),
                                       Fanout::Options{.lanes = 4}, *registry_);
    cmd_store_ = std::make_unique<CmdStore>(pg_.get(), channel_store_.get());
    expander_ = std::make_unique<CmdExpander>(
        cmd_store_.get(), fanout_.get(),
        CmdExpander::Options{.batch = 500, .poll = absl::Milliseconds(200)}, *registry_);
    expander_->Start();
    cmd_inbox_ = std::make_unique<CmdInbox>(
        cmd_store_.get(), CmdInbox::Options{.default_limit = 10, .max_limit = 100});
    RebuildPipeline(SendProcessor::Options{.max_payload_bytes = 1024}, SendPipeline::Options{});
    reader_ = std::make_unique<MessageReader>(
        channel_store_.get(), message_store_.get(),
        MessageReader::Options{.default_limit = 10, .max_limit = 20});
    heads_ = std::make_unique<HeadsReader>(channel_store_.get(), message_store_.get(),
                                           HeadsReader::Options{});
    channels_ = std::make_unique<Channels>(channel_store_.get(), message_store_.get(),
                                           conversation_client_.get(), Channels::Options{});
  }

  // Replaces the send path with one built with these options (4 lanes, like fan-out).
  void RebuildPipeline(SendProcessor::Options processor, SendPipeline::Options pipeline) {
    pipeline_.reset();
    processor_ = std::make_unique<SendProcessor>(Stores(), sequence_client_.get(),
                                                 conversation_client_.get(), ids_.get(), processor);
    pipeline.lanes = 4;
    if (expander_ != nullptr) pipeline.cmds_stored = [this] { expander_->Wake(); };
    pipeline_ = std::make_unique<SendPipeline>(processor_.get(), fanout_.get(),
                                               conversation_client_.get(), pipeline, *registry_);
  }

  // The stores of the send path, as main.cc hands them to SendProcessor.
  SendStores Stores() {
    return {pg_.get(), channel_store_.get(), message_store_.get(), cmd_store_.get()};
  }

  // Stops the running cmd expander: cmds sent afterwards stay pending until a test expands them.
  void StopCmdExpander() {
    pipeline_.reset();
    expander_.reset();
    RebuildPipeline(SendProcessor::Options{.max_payload_bytes = 1024}, SendPipeline::Options{});
  }

  // Polls `sql` (one integer) until it gives `want` or `timeout` passed; returns the last value.
  int64_t WaitForInt(const std::string& sql, int64_t want,
                     absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + timeout;
    int64_t value = QueryInt(sql);
    while (value != want && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      value = QueryInt(sql);
    }
    return value;
  }

  void TearDown() override {
    pipeline_.reset();
    expander_.reset();
    fanout_.reset();
    conversation_client_.reset();
  }

  static Channel Person(const std::string& peer) {
    Channel channel;
    channel.set_id(peer);
    channel.set_type(im::common::v1::CHANNEL_TYPE_PERSON);
    return channel;
  }

  static Channel Group(const std::string& id) {
    Channel channel;
    channel.set_id(id);
    channel.set_type(im::common::v1::CHANNEL_TYPE_GROUP);
    return channel;
  }

  static v1::SendItem Item(const std::string& from, const Channel& channel,
                           const std::string& payload, std::string client_msg_no = "") {
    v1::SendItem item;
    item.set_from_uid(from);
    *item.mutable_channel() = channel;
    item.set_payload(payload);
    item.set_client_msg_no(client_msg_no.empty() ? testing::UniqueName("c") : client_msg_no);
    return item;
  }

  // Sends through the pipeline and waits for the results.
  std::vector<v1::SendResult> Send(std::vector<v1::SendItem> items) {
    std::promise<std::vector<v1::SendResult>> promise;
    std::future<std::vector<v1::SendResult>> future = promise.get_future();
    pipeline_->Submit(std::move(items), [&promise](std::vector<v1::SendResult> results) {
      promise.set_value(std::move(results));
    });
    return future.get();
  }

  v1::SendResult SendOne(v1::SendItem item) { return Send({std::move(item)}).at(0); }

  std::string NewGroup(const std::vector<std::string>& uids) {
    v1::CreateGroupRequest request;
    request.set_group_id(testing::UniqueName("g"));
    for (const std::string& uid : uids) request.add_subscriber_uids(uid);
    absl::StatusOr<v1::Group> group = channels_->CreateGroup(request);
    EXPECT_TRUE(group.ok()) << group.status();
    return request.group_id();
  }

  // Rows of a query with one integer result.
  int64_t QueryInt(const std::string& sql) {
    int64_t value = -1;
    absl::Status status = pg_->Run([&](pqxx::connection& conn) {
      pqxx::read_transaction tx(conn);
      value = tx.exec(sql)[0][0].as<int64_t>();
    });
    EXPECT_TRUE(status.ok()) << status;
    return value;
  }

  static testing::ServiceProcess* sequence_;
  std::unique_ptr<PostgresPool> pg_;
  std::unique_ptr<RedisPool> redis_;
  std::unique_ptr<NodeLease> lease_;
  std::unique_ptr<IdGenerator> ids_;
  std::unique_ptr<ChannelStore> channel_store_;
  std::unique_ptr<MessageStore> message_store_;
  std::unique_ptr<SequenceClient> sequence_client_;
  std::unique_ptr<gateway::PresenceStore> presence_;
  std::unique_ptr<GatewayClients> gateways_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<testing::FakeConversation> conversations_;
  std::unique_ptr<ConversationClient> conversation_client_;
  std::unique_ptr<Fanout> fanout_;
  std::unique_ptr<CmdStore> cmd_store_;
  std::unique_ptr<CmdExpander> expander_;
  std::unique_ptr<CmdInbox> cmd_inbox_;
  std::unique_ptr<SendProcessor> processor_;
  std::unique_ptr<SendPipeline> pipeline_;
  std::unique_ptr<MessageReader> reader_;
  std::unique_ptr<HeadsReader> heads_;
  std::unique_ptr<Channels> channels_;
};

inline testing::ServiceProcess* MessageFixture::sequence_ = nullptr;

}  // namespace im::message
