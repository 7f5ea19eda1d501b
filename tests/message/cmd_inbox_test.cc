// Cmd inboxes on real Postgres (seed 004, DESIGN.md sections 4 and 7): the send stores only the
// cmd, the expander gives each recipient its own cmd_seq in rounds, each device syncs from its own
// cursor and acks forward only, entries acked by every known device or past the retention are
// trimmed and never come back, and concurrent expanders neither skip nor duplicate.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/message/cmd_sweeper.h"
#include "tests/message/message_fixture.h"

namespace im::message {
namespace {

using im::common::v1::REASON_CODE_SUCCESS;

class MessageCmdTest : public MessageFixture {
 protected:
  // A business server's sync_once item from `from` on `channel` to `uids` (empty: the channel's
  // parties or subscribers).
  static v1::SendItem Cmd(const std::string& from, const Channel& channel,
                          const std::vector<std::string>& uids, const std::string& payload) {
    v1::SendItem item = Item(from, channel, payload);
    item.mutable_flags()->set_sync_once(true);
    item.set_skip_subscriber_check(true);
    for (const std::string& uid : uids) item.add_recipient_uids(uid);
    return item;
  }

  // Sends and expects every item to succeed; returns the message ids.
  std::vector<uint64_t> SendCmds(std::vector<v1::SendItem> items) {
    std::vector<uint64_t> ids;
    for (const v1::SendResult& r : Send(std::move(items))) {
      EXPECT_EQ(r.reason(), REASON_CODE_SUCCESS) << r.message();
      ids.push_back(r.message_id());
    }
    return ids;
  }

  absl::StatusOr<v1::CmdSyncResponse> Sync(const std::string& uid, const std::string& device,
                                           int64_t after, uint32_t limit = 0) {
    v1::CmdSyncRequest request;
    request.set_uid(uid);
    request.set_device_id(device);
    request.set_after(after);
    request.set_limit(limit);
    return cmd_inbox_->Sync(request);
  }

  // Every entry the device gets, paging from `after` (each page continues at its last cmd_seq).
  std::vector<v1::CmdEntry> SyncAll(const std::string& uid, const std::string& device,
                                    int64_t after = 0, uint32_t limit = 0) {
    std::vector<v1::CmdEntry> all;
    for (;;) {
      absl::StatusOr<v1::CmdSyncResponse> page = Sync(uid, device, after, limit);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return all;
      for (const v1::CmdEntry& entry : page->entries()) {
        EXPECT_GT(entry.cmd_seq(), after) << "pages ascend";
        after = entry.cmd_seq();
        all.push_back(entry);
      }
      if (!page->has_more()) return all;
      EXPECT_GT(page->entries_size(), 0) << "has_more with an empty page";
    }
  }

  absl::Status Ack(const std::string& uid, const std::string& device, int64_t up_to) {
    v1::CmdAckRequest request;
    request.set_uid(uid);
    request.set_device_id(device);
    request.set_up_to(up_to);
    return cmd_inbox_->Ack(request);
  }

  int64_t InboxRows(const std::string& uid) {
    return QueryInt(absl::StrCat("SELECT count(*) FROM message.cmd_inbox WHERE uid = '", uid, "'"));
  }

  // Waits until the expander gave `uid` exactly `count` inbox rows.
  void WaitInbox(const std::string& uid, int64_t count) {
    ASSERT_EQ(
        WaitForInt(absl::StrCat("SELECT count(*) FROM message.cmd_inbox WHERE uid = '", uid, "'"),
                   count),
        count)
        << uid;
  }

  static std::vector<int64_t> Seqs(const std::vector<v1::CmdEntry>& entries) {
    std::vector<int64_t> seqs;
    for (const v1::CmdEntry& entry : entries) seqs.push_back(entry.cmd_seq());
    return seqs;
  }

  static std::vector<int64_t> Range(int64_t first, int64_t last) {
    std::vector<int64_t> out;
    for (int64_t s = first; s <= last; ++s) out.push_back(s);
    return out;
  }

  // Runs rounds of `expander` until one finds nothing.
  static void ExpandAll(CmdExpander& expander) {
    for (;;) {
      absl::StatusOr<CmdExpander::Round> n = expander.RunRound();
      ASSERT_TRUE(n.ok()) << n.status();
      if (n->cmds == 0) return;
    }
  }
};

TEST_F(MessageCmdTest, EachRecipientHasItsOwnSequence) {
  const std::string sys = testing::UniqueName("sys"), a = testing::UniqueName("a"),
                    b = testing::UniqueName("b"), c = testing::UniqueName("c");
  const std::vector<uint64_t> ids =
      SendCmds({Cmd(sys, Person(a), {a, b}, "1"), Cmd(sys, Person(a), {a}, "2"),
                Cmd(sys, Person(b), {b, c}, "3")});
  WaitInbox(a, 2);
  WaitInbox(b, 2);
  WaitInbox(c, 1);
  const std::vector<v1::CmdEntry> of_a = SyncAll(a, "d1"), of_b = SyncAll(b, "d1"),
                                  of_c = SyncAll(c, "d1");
  EXPECT_EQ(Seqs(of_a), Range(1, 2));
  EXPECT_EQ(Seqs(of_b), Range(1, 2));
  EXPECT_EQ(Seqs(of_c), Range(1, 1));
  // Send order within a channel; the message as its recipient sees the channel.
  EXPECT_EQ(of_a[0].message().message_id(), ids[0]);
  EXPECT_EQ(of_a[1].message().message_id(), ids[1]);
  // Cmds of different channels may commit in either order.
  EXPECT_EQ(std::set<uint64_t>({of_b[0].message().message_id(), of_b[1].message().message_id()}),
            std::set<uint64_t>({ids[0], ids[2]}));
  EXPECT_EQ(of_a[0].message().payload(), "1");
  EXPECT_TRUE(of_a[0].message().flags().sync_once());
  EXPECT_EQ(of_a[0].message().message_seq(), 0);
  EXPECT_EQ(of_a[0].message().from_uid(), sys);
  EXPECT_EQ(of_a[0].message().channel().id(), sys) << "a PERSON chat shows the other party";
  EXPECT_EQ(of_c[0].message().channel().id(), sys);
  EXPECT_GT(of_a[0].expires_at(), of_a[0].message().timestamp());
}

TEST_F(MessageCmdTest, AGroupCmdIsExpandedInRoundsAlongTheSubscribersInUidOrder) {
  StopCmdExpander();
  const std::string sys = testing::UniqueName("sys");
  std::vector<std::string> members;
  for (int i = 0; i < 30; ++i) members.push_back(testing::UniqueName("m"));
  const std::string group = NewGroup(members);
  const uint64_t id = SendCmds({Cmd(sys, Group(group), {}, "to all")}).at(0);
  const std::string row = absl::StrCat(" FROM message.cmd_messages WHERE message_id = ", id);
  // A column of the cmd's row; -1 when there is no row.
  const auto cmd_column = [&](const std::string& column) {
    return QueryInt(absl::StrCat("SELECT COALESCE((SELECT ", column, row, "), -1)"));
  };
  // Whether the uid cursor is the n-th subscriber in uid order (as Postgres orders them).
  const auto cursor_at = [&](int n) {
    return cmd_column(absl::StrCat(
        "(expanded_after = (SELECT uid FROM message.subscribers WHERE channel_key = 'g:", group,
        "' ORDER BY uid OFFSET ", n - 1, " LIMIT 1))::int"));
  };
  const std::string inbox =
      absl::StrCat("SELECT count(*) FROM message.cmd_inbox WHERE message_id = ", id);
  EXPECT_EQ(QueryInt(inbox), 0) << "acked before any per-recipient row";
  EXPECT_EQ(cmd_column("cardinality(recipients)"), 0) << "the send did not read the members";
  EXPECT_EQ(cmd_column("to_subscribers::int"), 1);
  EXPECT_EQ(cmd_column("pending::int"), 1);

  // A round expands at most its batch, the first subscribers in uid order; the cmd stays pending
  // with the cursor on the last of them, and an expander that goes away (a crash after its
  // commit) leaves it for the next one.
  {
    CmdExpander first(cmd_store_.get(), fanout_.get(), {.batch = 12}, *registry_);
    absl::StatusOr<CmdExpander::Round> n = first.RunRound();
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(n->recipients, 12u);
  }
  EXPECT_EQ(QueryInt(inbox), 12);
  EXPECT_EQ(cmd_column("expanded"), 12);
  EXPECT_EQ(cursor_at(12), 1);
  EXPECT_EQ(cmd_column("pending::int"), 1);
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM message.cmd_inbox i JOIN "
                                  "message.subscribers s ON s.uid = i.uid AND s.channel_key = 'g:",
                                  group, "' WHERE i.message_id = ", id, " AND s.uid <= (SELECT ",
                                  "expanded_after", row, ")")),
            12)
      << "exactly the subscribers up to the cursor have entries";

  // Members are read as the expansion pages them: one who joins now with a uid past the cursor
  // gets the cmd, one whose uid was already passed does not, and one who leaves before the
  // cursor reaches them does not.
  const std::string ahead = "zz" + testing::UniqueName("late");
  const std::string passed = "00" + testing::UniqueName("late");
  v1::AddSubscribersRequest add;
  *add.mutable_channel() = Group(group);
  add.add_uids(ahead);
  add.add_uids(passed);
  ASSERT_TRUE(channels_->AddSubscribers(add).ok());
  // A member past the cursor, as Postgres orders uids.
  std::string leaver;
  for (const std::string& member : members) {
    if (cmd_column(absl::StrCat("('", member, "' > expanded_after)::int")) == 1) leaver = member;
  }
  ASSERT_FALSE(leaver.empty());
  v1::RemoveSubscribersRequest remove;
  *remove.mutable_channel() = Group(group);
  remove.add_uids(leaver);
  ASSERT_TRUE(channels_->RemoveSubscribers(remove).ok());

  // The next rounds continue from the cursor (12 + 12 + 6 of the 30 subscribers now there).
  CmdExpander fresh(cmd_store_.get(), fanout_.get(), {.batch = 12}, *registry_);
  std::vector<size_t> rounds;
  for (;;) {
    absl::StatusOr<CmdExpander::Round> n = fresh.RunRound();
    ASSERT_TRUE(n.ok()) << n.status();
    if (n->cmds == 0) break;
    rounds.push_back(n->recipients);
  }
  EXPECT_EQ(rounds, std::vector<size_t>({12, 6}));
  EXPECT_EQ(QueryInt(inbox), 30);
  EXPECT_EQ(cmd_column("expanded"), 30);
  EXPECT_EQ(cmd_column("pending::int"), 0);
  EXPECT_EQ(cmd_column(absl::StrCat("(expanded_after = '", ahead, "')::int")), 1);
  EXPECT_EQ(QueryInt(absl::StrCat(
                "SELECT count(DISTINCT uid) FROM message.cmd_inbox WHERE message_id = ", id)),
            30)
      << "nobody twice";
  EXPECT_EQ(SyncAll(ahead, "d1").size(), 1u);
  EXPECT_TRUE(SyncAll(passed, "d1").empty());
  EXPECT_TRUE(SyncAll(leaver, "d1").empty());
  for (const std::string& member : members) {
    if (member == leaver) continue;
    const std::vector<v1::CmdEntry> entries = SyncAll(member, "d1");
    ASSERT_EQ(entries.size(), 1u) << member;
    EXPECT_EQ(entries[0].message().message_id(), id);
    EXPECT_EQ(entries[0].message().channel().id(), group);
  }
}

// One round's batch is shared by the cmds in send order, whatever their kind; a group that was
// deleted or has no subscribers finishes its cmd with no recipients without ending the rounds.
TEST_F(MessageCmdTest, GroupAndListCmdsShareARoundAndEmptyGroupsFinishWithNobody) {
  StopCmdExpander();
  const std::string sys = testing::UniqueName("sys");
  std::vector<std::string> uids;
  for (int i = 0; i < 5; ++i) uids.push_back(testing::UniqueName("u"));
  // The sender is a member: its other devices get the cmd too.
  const std::string g1 = NewGroup(uids), g2 = NewGroup({uids[0], uids[1], uids[2]});
  const std::string empty = NewGroup({}), doomed = NewGroup(uids);
  std::vector<uint64_t> ids;
  for (v1::SendItem item : {Cmd(sys, Group(empty), {}, "nobody"), Cmd(uids[0], Group(g1), {}, "g1"),
                            Cmd(sys, Person(uids[4]), {uids[3], uids[4]}, "list"),
                            Cmd(sys, Group(doomed), {}, "x"), Cmd(sys, Group(g2), {}, "g2")}) {
    // One by one, so that they are claimed in this order.
    ids.push_back(SendCmds({std::move(item)}).at(0));
  }
  v1::DeleteGroupRequest deletion;
  deletion.set_group_id(doomed);
  ASSERT_TRUE(channels_->DeleteGroup(deletion).ok());

  const auto entries_of = [&](uint64_t id) {
    return QueryInt(absl::StrCat("SELECT count(*) FROM message.cmd_inbox WHERE message_id = ", id));
  };
  const auto pending = [&](uint64_t id) {
    return QueryInt(
        absl::StrCat("SELECT pending::int FROM message.cmd_messages WHERE message_id = ", id));
  };
  CmdExpander expander(cmd_store_.get(), fanout_.get(), {.batch = 8}, *registry_);
  absl::StatusOr<CmdExpander::Round> first = expander.RunRound();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->recipients, 8u);
  // 0 (empty) + 5 (g1) + 2 (list) + 0 (deleted) + 1 of g2.
  EXPECT_EQ(std::vector<int64_t>({entries_of(ids[0]), entries_of(ids[1]), entries_of(ids[2]),
                                  entries_of(ids[3]), entries_of(ids[4])}),
            std::vector<int64_t>({0, 5, 2, 0, 1}));
  EXPECT_EQ(std::vector<int64_t>({pending(ids[0]), pending(ids[1]), pending(ids[2]),
                                  pending(ids[3]), pending(ids[4])}),
            std::vector<int64_t>({0, 0, 0, 0, 1}));
  absl::StatusOr<CmdExpander::Round> second = expander.RunRound();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->recipients, 2u);
  EXPECT_EQ(entries_of(ids[4]), 3);
  EXPECT_EQ(pending(ids[4]), 0);

  // The sender's own inbox has its group cmd; uids[0..2] have g1's and g2's, in send order.
  for (int i = 0; i < 5; ++i) {
    std::vector<std::string> payloads;
    for (const v1::CmdEntry& entry : SyncAll(uids[i], "d1")) {
      payloads.push_back(entry.message().payload());
    }
    EXPECT_EQ(payloads, i < 3 ? std::vector<std::string>({"g1", "g2"})
                              : std::vector<std::string>({"g1", "list"}))
        << i;
  }

  // Only empty cmds pending: the round finishes them, and a round reports it claimed them.
  const uint64_t none = SendCmds({Cmd(sys, Group(empty), {}, "nobody")}).at(0);
  absl::StatusOr<CmdExpander::Round> only_empty = expander.RunRound();
  ASSERT_TRUE(only_empty.ok()) << only_empty.status();
  EXPECT_GE(only_empty->cmds, 1u);
  EXPECT_EQ(only_empty->recipients, 0u);
  EXPECT_EQ(pending(none), 0);
  absl::StatusOr<CmdExpander::Round> idle = expander.RunRound();
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_EQ(idle->cmds, 0u);
}

// A client's cmd (it names its device) may list only members of its channel; a business server's
// may list anyone.
TEST_F(MessageCmdTest, AClientsCmdGoesOnlyToMembersOfItsChannel) {
  const std::string a = testing::UniqueName("a"), b = testing::UniqueName("b");
  const std::string stranger = testing::UniqueName("stranger");
  const std::string group = NewGroup({a, b});
  const auto from_client = [&](const Channel& channel, const std::vector<std::string>& uids) {
    v1::SendItem item = Cmd(a, channel, uids, "ping");
    item.set_skip_subscriber_check(false);
    item.set_from_device_id("phone");
    item.set_client_msg_no(testing::UniqueName("c"));
    return item;
  };
  const std::vector<v1::SendResult> results =
      Send({from_client(Group(group), {b}), from_client(Group(group), {b, stranger}),
            from_client(Person(b), {b}), from_client(Person(b), {stranger})});
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].reason(), im::common::v1::REASON_CODE_SUCCESS) << results[0].message();
  EXPECT_EQ(results[1].reason(), im::common::v1::REASON_CODE_PERMISSION_DENIED);
  EXPECT_NE(results[1].message().find(stranger), std::string::npos) << results[1].message();
  EXPECT_EQ(results[2].reason(), im::common::v1::REASON_CODE_SUCCESS) << results[2].message();
  EXPECT_EQ(results[3].reason(), im::common::v1::REASON_CODE_PERMISSION_DENIED);

  v1::SendItem business = Cmd(a, Person(b), {stranger}, "from the server");
  EXPECT_EQ(SendOne(std::move(business)).reason(), im::common::v1::REASON_CODE_SUCCESS);
  WaitInbox(stranger, 1);
  EXPECT_EQ(SyncAll(stranger, "d1").size(), 1u) << "only the business server's cmd reached them";
}

TEST_F(MessageCmdTest, TwoDevicesHaveIndependentCursorsAndTrimmingWaitsForBoth) {
  const std::string sys = testing::UniqueName("sys"), u = testing::UniqueName("u");
  // Both devices are known before the cmds arrive.
  ASSERT_TRUE(Sync(u, "phone", 0).ok());
  ASSERT_TRUE(Sync(u, "laptop", 0).ok());
  SendCmds({Cmd(sys, Person(u), {u}, "1"), Cmd(sys, Person(u), {u}, "2"),
            Cmd(sys, Person(u), {u}, "3")});
  WaitInbox(u, 3);

  EXPECT_EQ(Seqs(SyncAll(u, "phone")), Range(1, 3));
  ASSERT_TRUE(Ack(u, "phone", 3).ok());
  EXPECT_TRUE(SyncAll(u, "phone").empty()) << "acked entries do not come back to the phone";
  EXPECT_EQ(Seqs(SyncAll(u, "laptop")), Range(1, 3)) << "the phone's ack took nothing from it";
  EXPECT_EQ(InboxRows(u), 3) << "kept until every known device acked";

  ASSERT_TRUE(Ack(u, "laptop", 2).ok());
  EXPECT_EQ(InboxRows(u), 1);
  EXPECT_EQ(Seqs(SyncAll(u, "laptop")), Range(3, 3));
  ASSERT_TRUE(Ack(u, "laptop", 3).ok());
  EXPECT_EQ(InboxRows(u), 0);
  EXPECT_TRUE(SyncAll(u, "laptop").empty());
  EXPECT_TRUE(SyncAll(u, "tablet").empty()) << "trimmed entries never come back, to any device";

  // A new cmd continues the sequence; the new device is known now, so it holds the entry.
  SendCmds({Cmd(sys, Person(u), {u}, "4")});
  WaitInbox(u, 1);
  ASSERT_TRUE(Ack(u, "phone", 4).ok());
  ASSERT_TRUE(Ack(u, "laptop", 4).ok());
  EXPECT_EQ(InboxRows(u), 1) << "the tablet has not acked";
  EXPECT_EQ(Seqs(SyncAll(u, "tablet")), Range(4, 4));
  ASSERT_TRUE(Ack(u, "tablet", 4).ok());
  EXPECT_EQ(InboxRows(u), 0);
}

TEST_F(MessageCmdTest, AcksOnlyMoveForwardAndBadInputIsRefused) {
  const std::string sys = testing::UniqueName("sys"), u = testing::UniqueName("u");
  SendCmds({Cmd(sys, Person(u), {u}, "1"), Cmd(sys, Person(u), {u}, "2"),
            Cmd(sys, Person(u), {u}, "3")});
  WaitInbox(u, 3);
  ASSERT_TRUE(Ack(u, "d1", 2).ok());
  ASSERT_TRUE(Ack(u, "d1", 1).ok()) << "a lower ack is accepted and changes nothing";
  EXPECT_EQ(Seqs(SyncAll(u, "d1")), Range(3, 3));
  EXPECT_EQ(Seqs(SyncAll(u, "d1", /*after=*/0)), Range(3, 3));

  const absl::Status beyond = Ack(u, "d1", 4);
  EXPECT_EQ(beyond.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(beyond.message().find("above the last cmd_seq"), std::string::npos) << beyond;
  EXPECT_EQ(Seqs(SyncAll(u, "d1")), Range(3, 3)) << "a refused ack moves nothing";
  EXPECT_EQ(Ack(testing::UniqueName("nobody"), "d1", 1).code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(Ack(u, "d1", -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ack("", "d1", 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ack(u, "", 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Sync("", "d1", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Sync(u, "", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Sync(u, "d1", -5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Sync("bad uid!", "d1", 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MessageCmdTest, PagingThroughAThousandCmdsReturnsEachOnce) {
  const std::string sys = testing::UniqueName("sys"), u = testing::UniqueName("u");
  std::vector<v1::SendItem> items;
  for (int i = 0; i < 1000; ++i) items.push_back(Cmd(sys, Person(u), {u}, absl::StrCat(i)));
  const std::vector<uint64_t> ids = SendCmds(std::move(items));
  WaitInbox(u, 1000);

  // The fixture caps pages at 100; a limit above the cap is capped, 0 is the default (10).
  absl::StatusOr<v1::CmdSyncResponse> big = Sync(u, "d1", 0, 5000);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->entries_size(), 100);
  EXPECT_TRUE(big->has_more());
  absl::StatusOr<v1::CmdSyncResponse> small = Sync(u, "d1", 0);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->entries_size(), 10);

  for (uint32_t limit : {7u, 100u}) {
    const std::vector<v1::CmdEntry> all = SyncAll(u, "d1", 0, limit);
    EXPECT_EQ(Seqs(all), Range(1, 1000)) << "limit " << limit;
    std::set<uint64_t> seen;
    for (const v1::CmdEntry& entry : all) seen.insert(entry.message().message_id());
    EXPECT_EQ(seen, std::set<uint64_t>(ids.begin(), ids.end()));
  }
  // Acking in pages, then nothing is left for this (only) device.
  for (int64_t up_to = 250; up_to <= 1000; up_to += 250) ASSERT_TRUE(Ack(u, "d1", up_to).ok());
  EXPECT_TRUE(SyncAll(u, "d1").empty());
  EXPECT_EQ(InboxRows(u), 0);
}

TEST_F(MessageCmdTest, RetentionTrimsOldEntriesCmdsAndDevicesForGood) {
  const std::string sys = testing::UniqueName("sys"), u = testing::UniqueName("u");
  ASSERT_TRUE(Sync(u, "old-phone", 0).ok());
  const std::vector<uint64_t> ids =
      SendCmds({Cmd(sys, Person(u), {u}, "old"), Cmd(sys, Person(u), {u}, "new")});
  WaitInbox(u, 2);
  ASSERT_TRUE(Sync(u, "new-phone", 0).ok());
  // The first cmd and the old phone are 8 days old; the sweep keeps 7.
  constexpr int64_t kEightDaysMs = 8 * 24 * 3600 * 1000LL;
  ASSERT_TRUE(
      pg_->Run([&](pqxx::connection& conn) {
           pqxx::work tx(conn);
           tx.exec(absl::StrCat("UPDATE message.cmd_messages SET created_ms = created_ms - ",
                                kEightDaysMs, " WHERE message_id = ", ids[0]));
           tx.exec(absl::StrCat("UPDATE message.cmd_inbox SET created_ms = created_ms - ",
                                kEightDaysMs, " WHERE message_id = ", ids[0]));
           tx.exec(absl::StrCat("UPDATE message.cmd_devices SET seen_ms = seen_ms - ", kEightDaysMs,
                                " WHERE uid = '", u, "' AND device_id = 'old-phone'"));
           tx.commit();
         })
          .ok());
  CmdSweeper sweeper(cmd_store_.get(), {.retention = absl::Hours(7 * 24), .chunk = 1});
  absl::StatusOr<CmdSweep> swept = sweeper.SweepOnce(absl::Now());
  ASSERT_TRUE(swept.ok()) << swept.status();
  EXPECT_GE(swept->inbox_rows, 1);
  EXPECT_GE(swept->cmds, 1);
  EXPECT_GE(swept->devices, 1);

  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM message.cmd_messages WHERE message_id = ",
                                  ids[0])),
            0);
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM message.cmd_messages WHERE message_id = ",
                                  ids[1])),
            1);
  EXPECT_EQ(
      QueryInt(absl::StrCat("SELECT count(*) FROM message.cmd_devices WHERE uid = '", u, "'")), 1)
      << "only the old phone is forgotten";
  for (const std::string device : {"old-phone", "new-phone"}) {
    const std::vector<v1::CmdEntry> entries = SyncAll(u, device);
    ASSERT_EQ(entries.size(), 1u) << device;
    EXPECT_EQ(entries[0].message().message_id(), ids[1]);
    EXPECT_EQ(entries[0].expires_at() - entries[0].message().timestamp(),
              absl::ToInt64Milliseconds(absl::Hours(7 * 24)));
  }
}

TEST_F(MessageCmdTest, ConcurrentExpandersNeitherSkipNorDuplicate) {
  StopCmdExpander();
  const std::string sys = testing::UniqueName("sys");
  std::vector<std::string> uids;
  for (int i = 0; i < 40; ++i) uids.push_back(testing::UniqueName("u"));
  // 60 cmds to overlapping windows of 25 uids: every uid gets several cmds from many rounds.
  std::vector<v1::SendItem> items;
  std::map<std::string, int> expected;
  for (int c = 0; c < 60; ++c) {
    std::vector<std::string> to;
    for (int k = 0; k < 25; ++k) {
      to.push_back(uids[(c * 7 + k) % uids.size()]);
      ++expected[to.back()];
    }
    items.push_back(Cmd(sys, Person(uids[0]), to, absl::StrCat("c", c)));
  }
  SendCmds(std::move(items));

  // Readers sync from their last cmd_seq while two expanders race: a reader that ever missed an
  // entry (a cmd_seq committed after a higher one it already read) would never see it.
  std::atomic<bool> expanding{true};
  std::map<std::string, std::vector<int64_t>> read;
  std::vector<std::thread> readers;
  std::mutex read_mu;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      std::map<std::string, int64_t> after;
      bool last_pass = false;
      while (!last_pass) {
        last_pass = !expanding.load();
        for (size_t i = r; i < uids.size(); i += 4) {
          absl::StatusOr<v1::CmdSyncResponse> page = Sync(uids[i], "reader", after[uids[i]], 100);
          ASSERT_TRUE(page.ok()) << page.status();
          std::lock_guard<std::mutex> lock(read_mu);
          for (const v1::CmdEntry& entry : page->entries()) {
            read[uids[i]].push_back(entry.cmd_seq());
            after[uids[i]] = entry.cmd_seq();
          }
        }
      }
    });
  }
  CmdExpander one(cmd_store_.get(), fanout_.get(), {.batch = 17, .max_cmds = 4}, *registry_);
  CmdExpander two(cmd_store_.get(), fanout_.get(), {.batch = 23, .max_cmds = 3}, *registry_);
  std::thread t1([&] { ExpandAll(one); });
  std::thread t2([&] { ExpandAll(two); });
  t1.join();
  t2.join();
  // A round that found everything held by the other may end early; finish what is left. The
  // expanders of other test processes on this database may hold some of these cmds (SKIP LOCKED),
  // so the readers' last pass waits until every inbox is complete.
  ExpandAll(one);
  for (const std::string& uid : uids) WaitInbox(uid, expected[uid]);
  expanding = false;
  for (std::thread& t : readers) t.join();

  for (const std::string& uid : uids) {
    EXPECT_EQ(read[uid], Range(1, expected[uid])) << uid;
    EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(DISTINCT message_id) FROM message.cmd_inbox "
                                    "WHERE uid = '",
                                    uid, "'")),
              expected[uid]);
  }
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM message.cmd_messages WHERE pending AND "
                                  "from_uid = '",
                                  sys, "'")),
            0);
}

}  // namespace
}  // namespace im::message
