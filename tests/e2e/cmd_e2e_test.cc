// Cmd (sync_once) messages end to end (seed 004, DESIGN.md sections 4 and 7): real sequence,
// message, conversation and gateway processes, WebSocket clients. Every device of a recipient gets
// the CMD push, syncs from its own cursor and acks; a device offline at send time still syncs the
// cmd; acked entries never come back; paging returns each cmd once; a cmd to a 10000-member group
// is acked from one row and its inboxes are filled afterwards.
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/suite_fixture.h"

namespace im::testing {
namespace {

namespace common = im::common::v1;
namespace msg = im::message::v1;
using client::PersonChannel;

struct OneGateway {
  static SuiteOptions Options() { return {}; }
};

class CmdTest : public SuiteTest<OneGateway> {
 protected:
  static common::MessageFlags SyncOnce() {
    common::MessageFlags flags;
    flags.set_sync_once(true);
    return flags;
  }

  // The next CMD push, skipping other pushes; nullopt after `timeout`.
  static std::optional<msg::CmdEntry> NextCmd(client::ImClient& client,
                                              absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::optional<client::Frame> frame = NextFrame(client, deadline - absl::Now());
      if (!frame.has_value()) return std::nullopt;
      if (frame->has_cmd()) return frame->cmd();
    }
    return std::nullopt;
  }

  // Every entry the device gets over WebSocket, paging from 0 with `limit`.
  static std::vector<msg::CmdEntry> SyncAll(client::ImClient& client, uint32_t limit = 0) {
    std::vector<msg::CmdEntry> all;
    int64_t after = 0;
    for (;;) {
      absl::StatusOr<client::CmdSyncResponse> page = client.CmdSync(after, limit);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return all;
      EXPECT_EQ(page->reason(), common::REASON_CODE_SUCCESS) << page->message();
      for (const msg::CmdEntry& entry : page->entries()) {
        EXPECT_GT(entry.cmd_seq(), after);
        after = entry.cmd_seq();
        all.push_back(entry);
      }
      if (!page->has_more() || page->entries().empty()) return all;
    }
  }

  static void Ack(client::ImClient& client, int64_t up_to) {
    absl::StatusOr<client::CmdAckResponse> ack = client.CmdAck(up_to);
    ASSERT_TRUE(ack.ok()) << ack.status();
    EXPECT_EQ(ack->reason(), common::REASON_CODE_SUCCESS) << ack->message();
  }

  // Polls `sql` (one integer) on the test database until it gives `want` or 30 s passed.
  static int64_t WaitForInt(const std::string& sql, int64_t want) {
    std::unique_ptr<PostgresPool> pg = MakePostgresPool();
    int64_t value = -1;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    do {
      if (value != -1) absl::SleepFor(absl::Milliseconds(50));
      EXPECT_TRUE(pg->Run([&](pqxx::connection& conn) {
                      pqxx::read_transaction tx(conn);
                      value = tx.exec(sql)[0][0].as<int64_t>();
                    }).ok());
    } while (value != want && absl::Now() < deadline);
    return value;
  }
};

TEST_F(CmdTest, EveryDeviceGetsItsCmdsAndAcksOnlyForItself) {
  const std::string u = UniqueName("u"), sys = UniqueName("sys");
  auto phone = suite_->Login(u, "phone", 0, client::Encoding::kBinary, common::DEVICE_FLAG_APP);
  auto laptop = suite_->Login(u, "laptop", 0, client::Encoding::kJson, common::DEVICE_FLAG_DESKTOP);
  // Both devices become known (a device is protected from trimming once it synced).
  EXPECT_TRUE(SyncAll(*phone).empty());
  EXPECT_TRUE(SyncAll(*laptop).empty());

  const msg::SendResult first = suite_->ApiSend(sys, PersonChannel(u), "c1", "one", SyncOnce());
  ASSERT_EQ(first.reason(), common::REASON_CODE_SUCCESS) << first.message();
  for (client::ImClient* device : {phone.get(), laptop.get()}) {
    std::optional<msg::CmdEntry> pushed = NextCmd(*device);
    ASSERT_TRUE(pushed.has_value()) << "no CMD push";
    EXPECT_EQ(pushed->cmd_seq(), 1);
    EXPECT_EQ(pushed->message().message_id(), first.message_id());
    EXPECT_EQ(pushed->message().channel().id(), sys);
  }

  // The laptop goes offline; the next cmd reaches only the phone, which acks both.
  laptop->Close();
  for (int i = 0; i < 100 && suite_->IsOnline(u, "laptop"); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_FALSE(suite_->IsOnline(u, "laptop"));
  const msg::SendResult second = suite_->ApiSend(sys, PersonChannel(u), "c2", "two", SyncOnce());
  ASSERT_EQ(second.reason(), common::REASON_CODE_SUCCESS) << second.message();
  std::optional<msg::CmdEntry> pushed = NextCmd(*phone);
  ASSERT_TRUE(pushed.has_value());
  EXPECT_EQ(pushed->cmd_seq(), 2);
  Ack(*phone, 2);
  EXPECT_TRUE(SyncAll(*phone).empty()) << "acked cmds do not come back to the phone";

  // Back online, the laptop syncs both from its own cursor.
  auto laptop_again =
      suite_->Login(u, "laptop", 0, client::Encoding::kBinary, common::DEVICE_FLAG_DESKTOP);
  std::vector<msg::CmdEntry> synced = SyncAll(*laptop_again);
  ASSERT_EQ(synced.size(), 2u);
  EXPECT_EQ(synced[0].message().message_id(), first.message_id());
  EXPECT_EQ(synced[1].message().message_id(), second.message_id());
  EXPECT_EQ(synced[1].message().payload(), "two");
  EXPECT_TRUE(synced[1].message().flags().sync_once());
  EXPECT_GT(synced[1].expires_at(), synced[1].message().timestamp());

  absl::StatusOr<client::CmdAckResponse> beyond = laptop_again->CmdAck(3);
  ASSERT_TRUE(beyond.ok()) << beyond.status();
  EXPECT_EQ(beyond->reason(), common::REASON_CODE_INVALID_ARGUMENT);
  EXPECT_FALSE(beyond->message().empty());

  Ack(*laptop_again, 2);
  EXPECT_EQ(
      WaitForInt(absl::StrCat("SELECT count(*) FROM message.cmd_inbox WHERE uid = '", u, "'"), 0),
      0)
      << "acked by every known device: trimmed";
  EXPECT_TRUE(SyncAll(*laptop_again).empty());
  EXPECT_TRUE(SyncAll(*phone).empty());
  auto tablet = suite_->Login(u, "tablet", 0, client::Encoding::kBinary, common::DEVICE_FLAG_WEB);
  EXPECT_TRUE(SyncAll(*tablet).empty()) << "trimmed cmds never come back, to any device";
}

TEST_F(CmdTest, PagingThroughAThousandCmdsReturnsEachOnce) {
  const std::string u = UniqueName("u"), sys = UniqueName("sys");
  msg::SendRequest request;
  for (int i = 0; i < 1000; ++i) {
    msg::SendItem* item = request.add_items();
    *item->mutable_channel() = PersonChannel(u);
    item->set_from_uid(sys);
    item->set_client_msg_no(absl::StrCat("p", i));
    item->set_payload(absl::StrCat("cmd ", i));
    *item->mutable_flags() = SyncOnce();
    item->set_skip_subscriber_check(true);
  }
  auto messages = msg::MessageService::NewStub(FreshChannel(suite_->message().grpc_address()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  msg::SendResponse response;
  ASSERT_TRUE(messages->Send(&context, request, &response).ok());
  std::set<uint64_t> sent;
  for (const msg::SendResult& result : response.results()) {
    ASSERT_EQ(result.reason(), common::REASON_CODE_SUCCESS) << result.message();
    sent.insert(result.message_id());
  }
  ASSERT_EQ(WaitForInt(absl::StrCat("SELECT count(*) FROM message.cmd_inbox WHERE uid = '", u, "'"),
                       1000),
            1000);

  auto device = suite_->Login(u, "d1");
  for (uint32_t limit : {0u, 77u, 1000u}) {
    const std::vector<msg::CmdEntry> all = SyncAll(*device, limit);
    ASSERT_EQ(all.size(), 1000u) << "limit " << limit;
    std::set<uint64_t> got;
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].cmd_seq(), static_cast<int64_t>(i) + 1);
      got.insert(all[i].message().message_id());
    }
    EXPECT_EQ(got, sent) << "each cmd exactly once";
  }
  Ack(*device, 1000);
  EXPECT_TRUE(SyncAll(*device).empty());
}

TEST_F(CmdTest, ACmdToATenThousandMemberGroupIsAckedThenExpanded) {
  const std::string sys = UniqueName("sys"), group = UniqueName("big");
  std::vector<std::string> members;
  for (int i = 0; i < 10000; ++i) members.push_back(absl::StrCat(group, "-m", i));
  {
    auto channels = msg::ChannelService::NewStub(FreshChannel(suite_->message().grpc_address()));
    msg::CreateGroupRequest request;
    request.set_group_id(group);
    for (const std::string& uid : members) request.add_subscriber_uids(uid);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    msg::Group created;
    const grpc::Status status = channels->CreateGroup(&context, request, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  std::vector<std::unique_ptr<client::ImClient>> online;
  for (int i : {0, 4999, 9999}) online.push_back(suite_->Login(members[i], "phone"));

  const msg::SendResult sent =
      suite_->ApiSend(sys, client::GroupChannel(group), "to-all", "reload", SyncOnce());
  ASSERT_EQ(sent.reason(), common::REASON_CODE_SUCCESS) << sent.message();
  EXPECT_EQ(sent.message_seq(), 0);

  // The ack came from the cmd row alone; the inboxes fill afterwards, every member once.
  EXPECT_EQ(WaitForInt(absl::StrCat("SELECT count(DISTINCT uid) FROM message.cmd_inbox "
                                    "WHERE message_id = ",
                                    sent.message_id()),
                       10000),
            10000);
  EXPECT_EQ(WaitForInt(absl::StrCat("SELECT count(*) FROM message.cmd_messages WHERE pending AND "
                                    "message_id = ",
                                    sent.message_id()),
                       0),
            0);
  for (auto& member : online) {
    std::optional<msg::CmdEntry> pushed = NextCmd(*member);
    ASSERT_TRUE(pushed.has_value()) << "no CMD push";
    EXPECT_EQ(pushed->message().message_id(), sent.message_id());
    EXPECT_EQ(pushed->message().channel().id(), group);
    const std::vector<msg::CmdEntry> synced = SyncAll(*member);
    ASSERT_EQ(synced.size(), 1u);
    EXPECT_EQ(synced[0].cmd_seq(), pushed->cmd_seq()) << "the push carries the inbox position";
  }
}

}  // namespace
}  // namespace im::testing
