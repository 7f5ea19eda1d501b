#include "services/message/send_processor.h"

#include <string>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/reason_codes.h"
#include "services/message/public/channel_key.h"
#include "services/message/public/not_subscriber.h"

namespace im::message {
namespace {

using im::common::v1::ReasonCode;
namespace v1 = im::message::v1;

// Longest client_msg_no accepted (UUIDs and the like fit easily).
constexpr size_t kMaxClientMsgNoBytes = 128;

enum class Kind { kHistory, kNoPersist, kCmd };

}  // namespace

struct SendProcessor::Work {
  const v1::SendItem* item = nullptr;
  Kind kind = Kind::kHistory;
  // The key the caller made; `key` once it is valid.
  const absl::StatusOr<ChannelKey>* given_key = nullptr;
  ChannelKey key;
  bool settled = false;
  // An earlier item of the batch with the same sender key; this one gets its result.
  int copy_of = -1;
  v1::SendResult result;
  StoredMessage row;
  // Cmds: the explicit recipients, or all subscribers of the channel at commit.
  std::vector<std::string> recipients;
  bool to_subscribers = false;
  bool cmd_stored = false;
  std::optional<FanoutItem> fanout;
  std::optional<im::conversation::v1::ReadAdvance> read_advance;

  bool pending() const { return !settled && copy_of < 0; }

  void Fail(ReasonCode reason, absl::string_view message) {
    settled = true;
    result.set_reason(reason);
    result.set_message(std::string(message));
  }

  void Succeed(uint64_t message_id, int64_t seq, int64_t timestamp, bool duplicate) {
    settled = true;
    result.set_reason(im::common::v1::REASON_CODE_SUCCESS);
    result.set_message_id(message_id);
    result.set_message_seq(seq);
    result.set_timestamp(timestamp);
    result.set_duplicate(duplicate);
  }

  bool red_dot() const {
    if (kind == Kind::kCmd) return false;
    return item->flags().has_red_dot() ? item->flags().red_dot() : true;
  }

  // The push for this item, as committed.
  void MakeFanout(int64_t seq, int64_t red_dot_ordinal) {
    FanoutItem out;
    out.channel_key = key.str();
    im::common::v1::Message* message = out.item.mutable_message();
    message->set_message_id(result.message_id());
    message->set_message_seq(seq);
    message->mutable_channel()->set_id(item->channel().id());
    message->mutable_channel()->set_type(item->channel().type());
    message->set_from_uid(item->from_uid());
    message->set_client_msg_no(item->client_msg_no());
    message->set_timestamp(result.timestamp());
    message->set_payload(item->payload());
    message->mutable_flags()->set_no_persist(kind == Kind::kNoPersist);
    message->mutable_flags()->set_sync_once(kind == Kind::kCmd);
    message->mutable_flags()->set_red_dot(red_dot());
    message->set_red_dot_ordinal(red_dot_ordinal);
    if (!item->from_device_id().empty()) {
      out.item.mutable_exclude_device()->set_uid(item->from_uid());
      out.item.mutable_exclude_device()->set_device_id(item->from_device_id());
    }
    fanout = std::move(out);
  }
};

// Sender keys by kind (cmd or not) as views into the batch's items.
using DedupeKey = std::tuple<bool, std::string_view, std::string_view, std::string_view>;

struct SendProcessor::Reads {
  // Membership: works[pair_items[j]] checks uids[j] in group_ids[j], as its sender or (a client's
  // cmd) as one of its listed recipients.
  std::vector<size_t> pair_items;
  std::vector<bool> is_recipient;
  std::vector<std::string> group_ids, uids;
  std::vector<GroupAccess> access;
  // Dedupe: each distinct sender key, [0] of history and [1] of cmd items, and what is stored
  // under it.
  absl::flat_hash_map<DedupeKey, size_t> key_index;
  std::vector<SenderKey> keys[2];
  std::vector<std::optional<StoredMessage>> found[2];
  // PERSON channels of history items not known to have a head, and whether each has one.
  std::vector<std::string> head_keys;
  std::vector<const ChannelKey*> head_channels;
  std::vector<bool> have_heads;
};

namespace {

using Work = SendProcessor::Work;

void FailPending(std::vector<Work>& works, const absl::Status& status,
                 std::optional<Kind> only = std::nullopt) {
  for (Work& work : works) {
    if (work.pending() && (!only.has_value() || work.kind == *only)) {
      work.Fail(im::common::v1::REASON_CODE_UNAVAILABLE, status.message());
    }
  }
}

DedupeKey DedupeKeyOf(const Work& work) {
  return {work.kind == Kind::kCmd, work.key.str(), work.item->from_uid(),
          work.item->client_msg_no()};
}

}  // namespace

SendProcessor::SendProcessor(SendStores stores, SequenceClient* sequence,
                             ConversationClient* conversations, IdGenerator* ids, Options options)
    : stores_(stores),
      sequence_(sequence),
      conversations_(conversations),
      ids_(ids),
      options_(options) {}

KeyedSendItem::KeyedSendItem(const v1::SendItem& send_item)
    : item(&send_item), key(ChannelKey::For(send_item.from_uid(), send_item.channel())) {}

std::vector<SendOutcome> SendProcessor::Process(const std::vector<const KeyedSendItem*>& items,
                                                SendStages* stages) {
  std::vector<Work> works(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    works[i].item = items[i]->item;
    works[i].given_key = &items[i]->key;
    Validate(works[i]);
  }
  absl::Time start = absl::Now();
  const auto step_done = [&](absl::Duration SendStages::*stage) {
    const absl::Time now = absl::Now();
    if (stages != nullptr) stages->*stage = now - start;
    start = now;
  };
  Reads reads;
  ReadBeforeWrite(works, reads);
  step_done(&SendStages::reads);
  EnsureConversations(works, reads);
  step_done(&SendStages::conversations);
  AssignSeqsAndIds(works, absl::ToUnixMillis(start));
  step_done(&SendStages::seqs);
  ResolveCmdRecipients(works);
  Commit(works);
  step_done(&SendStages::commit);

  std::vector<SendOutcome> outcomes(works.size());
  for (size_t i = 0; i < works.size(); ++i) {
    if (works[i].copy_of >= 0) {
      // The original comes earlier in the batch, so its outcome is already final.
      outcomes[i].result = outcomes[works[i].copy_of].result;
      if (outcomes[i].result.reason() == im::common::v1::REASON_CODE_SUCCESS) {
        outcomes[i].result.set_duplicate(true);
      }
      continue;
    }
    outcomes[i].result = std::move(works[i].result);
    outcomes[i].fanout = std::move(works[i].fanout);
    outcomes[i].read_advance = std::move(works[i].read_advance);
    outcomes[i].cmd_stored = works[i].cmd_stored;
  }
  return outcomes;
}

void SendProcessor::Validate(Work& work) const {
  const v1::SendItem& item = *work.item;
  const auto invalid = [&](absl::string_view message) {
    work.Fail(im::common::v1::REASON_CODE_INVALID_ARGUMENT, message);
  };
  if (item.flags().no_persist() && item.flags().sync_once()) {
    return invalid("flags no_persist and sync_once exclude each other");
  }
  work.kind = item.flags().no_persist()  ? Kind::kNoPersist
              : item.flags().sync_once() ? Kind::kCmd
                                         : Kind::kHistory;
  if (absl::Status s = ValidateId(item.from_uid(), "from_uid"); !s.ok())
    return invalid(s.message());
  if (!item.from_device_id().empty()) {
    if (absl::Status s = ValidateId(item.from_device_id(), "from_device_id"); !s.ok()) {
      return invalid(s.message());
    }
  }
  if (item.client_msg_no().empty()) return invalid("client_msg_no is required");
  if (item.client_msg_no().size() > kMaxClientMsgNoBytes) {
    return invalid(absl::StrCat("client_msg_no is longer than ", kMaxClientMsgNoBytes, " bytes"));
  }
  if (!work.given_key->ok()) return invalid(work.given_key->status().message());
  work.key = **work.given_key;
  if (item.payload().size() > options_.max_payload_bytes) {
    return work.Fail(im::common::v1::REASON_CODE_TOO_LARGE,
                     absl::StrCat("payload is larger than ", options_.max_payload_bytes, " bytes"));
  }
  if (!item.recipient_uids().empty()) {
    if (work.kind != Kind::kCmd) return invalid("recipient_uids is only for sync_once messages");
    if (static_cast<size_t>(item.recipient_uids_size()) > options_.max_recipients) {
      return invalid(absl::StrCat("more than ", options_.max_recipients, " recipient_uids"));
    }
    for (const std::string& uid : item.recipient_uids()) {
      if (absl::Status s = ValidateId(uid, "recipient uid"); !s.ok()) return invalid(s.message());
    }
  }
}

void SendProcessor::ReadBeforeWrite(std::vector<Work>& works, Reads& reads) {
  PlanMembership(works, reads);
  PlanDedupe(works, reads);
  PlanHeads(works, reads);
  std::vector<PgRead> round_trip;
  if (!reads.pair_items.empty()) {
    absl::StatusOr<PgRead> access =
        stores_.channels->CheckAccessRead(reads.group_ids, reads.uids, &reads.access);
    if (!access.ok()) return FailPending(works, access.status());
    round_trip.push_back(*std::move(access));
  }
  if (!reads.keys[0].empty()) {
    round_trip.push_back(stores_.messages->FindMessagesRead(reads.keys[0], &reads.found[0]));
  }
  if (!reads.keys[1].empty()) {
    round_trip.push_back(stores_.cmds->FindCmdsRead(reads.keys[1], &reads.found[1]));
  }
  if (!reads.head_keys.empty()) {
    round_trip.push_back(stores_.messages->HaveHeadsRead(reads.head_keys, &reads.have_heads));
  }
  if (absl::Status status = stores_.pg->RunReads(round_trip); !status.ok()) {
    return FailPending(works, status);
  }
  ApplyMembership(works, reads);
  ApplyDedupe(works, reads);
}

void SendProcessor::PlanMembership(std::vector<Work>& works, Reads& reads) const {
  // Pairs to check: each group item's sender, then (for a client's cmd) its listed recipients.
  for (size_t i = 0; i < works.size(); ++i) {
    Work& work = works[i];
    if (!work.pending()) continue;
    // A client's cmd may only go to members of its channel; business servers address anyone.
    const bool client_addressed = work.kind == Kind::kCmd && !work.item->from_device_id().empty() &&
                                  !work.item->recipient_uids().empty();
    if (work.key.is_group()) {
      const std::string group_id(work.key.group_id());
      reads.pair_items.push_back(i);
      reads.is_recipient.push_back(false);
      reads.group_ids.push_back(group_id);
      reads.uids.push_back(work.item->from_uid());
      if (!client_addressed) continue;
      for (const std::string& uid : work.item->recipient_uids()) {
        reads.pair_items.push_back(i);
        reads.is_recipient.push_back(true);
        reads.group_ids.push_back(group_id);
        reads.uids.push_back(uid);
      }
    } else if (client_addressed && work.key.is_person()) {
      for (const std::string& uid : work.item->recipient_uids()) {
        if (uid == work.key.low_uid() || uid == work.key.high_uid()) continue;
        work.Fail(im::common::v1::REASON_CODE_PERMISSION_DENIED,
                  absl::StrCat("a client's cmd may only go to the chat's two users, not ", uid));
        break;
      }
    }
  }
}

void SendProcessor::PlanDedupe(const std::vector<Work>& works, Reads& reads) const {
  for (const Work& work : works) {
    if (!work.pending() || work.kind == Kind::kNoPersist) continue;
    const bool cmd = work.kind == Kind::kCmd;
    if (reads.key_index.try_emplace(DedupeKeyOf(work), reads.keys[cmd].size()).second) {
      reads.keys[cmd].push_back(
          {work.key.str(), work.item->from_uid(), work.item->client_msg_no()});
    }
  }
}

void SendProcessor::PlanHeads(const std::vector<Work>& works, Reads& reads) {
  // PERSON channels not known to have a head may be new: their conversations must exist before
  // the first message commits.
  absl::flat_hash_set<std::string_view> seen;
  std::lock_guard<std::mutex> lock(known_heads_mu_);
  for (const Work& work : works) {
    if (!work.pending() || work.kind != Kind::kHistory || !work.key.is_person()) continue;
    if (known_heads_.contains(work.key.str()) || !seen.insert(work.key.str()).second) continue;
    reads.head_keys.push_back(work.key.str());
    reads.head_channels.push_back(&work.key);
  }
}

void SendProcessor::ApplyMembership(std::vector<Work>& works, const Reads& reads) const {
  for (size_t j = 0; j < reads.pair_items.size(); ++j) {
    Work& work = works[reads.pair_items[j]];
    if (!work.pending()) continue;
    const std::string& group_id = reads.group_ids[j];
    const std::string& uid = reads.uids[j];
    if (reads.is_recipient[j]) {
      if (reads.access[j] != GroupAccess::kSubscriber) {
        work.Fail(im::common::v1::REASON_CODE_PERMISSION_DENIED,
                  absl::StrCat("a client's cmd may only go to subscribers of group ", group_id,
                               "; ", uid, " is not one"));
      }
    } else if (reads.access[j] == GroupAccess::kNoGroup) {
      work.Fail(im::common::v1::REASON_CODE_NOT_FOUND,
                absl::StrCat("group ", group_id, " does not exist"));
    } else if (reads.access[j] == GroupAccess::kNotSubscriber &&
               !work.item->skip_subscriber_check()) {
      const absl::Status refused = NotSubscriberError(uid, group_id);
      work.Fail(ReasonFor(refused), refused.message());
    }
  }
}

void SendProcessor::ApplyDedupe(std::vector<Work>& works, const Reads& reads) const {
  // Of the items still pending, the first of each sender key is looked up; the others copy it.
  absl::flat_hash_map<DedupeKey, int> first;
  for (size_t i = 0; i < works.size(); ++i) {
    Work& work = works[i];
    if (!work.pending() || work.kind == Kind::kNoPersist) continue;
    const DedupeKey key = DedupeKeyOf(work);
    auto [it, inserted] = first.try_emplace(key, static_cast<int>(i));
    if (!inserted) {
      work.copy_of = it->second;
      continue;
    }
    const std::optional<StoredMessage>& m =
        reads.found[work.kind == Kind::kCmd][reads.key_index.at(key)];
    if (m.has_value()) work.Succeed(m->message_id, m->seq, m->created_ms, /*duplicate=*/true);
  }
}

void SendProcessor::EnsureConversations(std::vector<Work>& works, const Reads& reads) {
  // The planned chats that still have items to commit.
  absl::flat_hash_set<std::string_view> waiting;
  for (const Work& work : works) {
    if (work.pending() && work.kind == Kind::kHistory) waiting.insert(work.key.str());
  }
  absl::flat_hash_set<std::string> fresh;
  std::vector<im::conversation::v1::EnsureItem> items;
  for (size_t i = 0; i < reads.head_keys.size(); ++i) {
    const std::string& key = reads.head_keys[i];
    if (!waiting.contains(key)) continue;
    if (reads.have_heads[i]) {
      Remember(key);
      continue;
    }
    fresh.insert(key);
    const ChannelKey& channel = *reads.head_channels[i];
    for (const std::string_view uid : {channel.low_uid(), channel.high_uid()}) {
      im::conversation::v1::EnsureItem& item = items.emplace_back();
      item.set_uid(std::string(uid));
      *item.mutable_channel() = channel.AsSeenBy(uid);
    }
  }
  if (items.empty()) return;
  if (absl::Status status = conversations_->Ensure(std::move(items)); !status.ok()) {
    for (Work& work : works) {
      if (work.pending() && work.kind == Kind::kHistory && fresh.contains(work.key.str())) {
        work.Fail(im::common::v1::REASON_CODE_UNAVAILABLE, status.message());
      }
    }
  }
}

void SendProcessor::Remember(const std::string& person_key) {
  std::lock_guard<std::mutex> lock(known_heads_mu_);
  if (known_heads_.size() >= options_.max_known_heads) known_heads_.clear();
  known_heads_.insert(person_key);
}

void SendProcessor::AssignSeqsAndIds(std::vector<Work>& works, int64_t now_ms) {
  // Seqs: one range per channel, cut in item order. Red-dot ordinals are given by the insert.
  std::vector<SeqRequest> requests;
  absl::flat_hash_map<std::string_view, size_t> request_of;
  size_t pending = 0;
  for (Work& work : works) {
    if (!work.pending()) continue;
    ++pending;
    if (work.kind != Kind::kHistory) continue;
    auto [it, inserted] = request_of.try_emplace(work.key.str(), requests.size());
    if (inserted) {
      requests.push_back(SeqRequest{work.key.str(), im::sequence::v1::COUNTER_KIND_MESSAGE_SEQ, 0});
    }
    ++requests[it->second].count;
  }
  if (pending == 0) return;
  std::vector<int64_t> next;
  if (!requests.empty()) {
    absl::StatusOr<std::vector<int64_t>> firsts = sequence_->Allocate(requests);
    if (!firsts.ok()) return FailPending(works, firsts.status());
    next = *std::move(firsts);
  }
  absl::StatusOr<std::vector<uint64_t>> ids = ids_->Next(pending);
  if (!ids.ok()) return FailPending(works, ids.status());

  size_t id_index = 0;
  for (Work& work : works) {
    if (!work.pending()) continue;
    StoredMessage& row = work.row;
    row.channel_key = work.key.str();
    row.message_id = (*ids)[id_index++];
    row.from_uid = work.item->from_uid();
    row.client_msg_no = work.item->client_msg_no();
    row.red_dot = work.red_dot();
    row.created_ms = now_ms;
    if (work.kind == Kind::kHistory) row.seq = next[request_of.at(work.key.str())]++;
    if (work.kind != Kind::kNoPersist) row.payload = work.item->payload();
  }
}

void SendProcessor::ResolveCmdRecipients(std::vector<Work>& works) {
  for (Work& work : works) {
    if (!work.pending() || work.kind != Kind::kCmd) continue;
    if (!work.item->recipient_uids().empty()) {
      absl::flat_hash_set<std::string_view> seen;
      for (const std::string& uid : work.item->recipient_uids()) {
        if (seen.insert(uid).second) work.recipients.push_back(uid);
      }
      continue;
    }
    if (work.key.is_person()) {
      work.recipients = {std::string(work.key.low_uid()), std::string(work.key.high_uid())};
    } else {
      work.to_subscribers = true;
    }
  }
}

void SendProcessor::Commit(std::vector<Work>& works) {
  std::vector<size_t> history, cmds;
  std::vector<StoredMessage> rows;
  std::vector<CmdInsert> cmd_rows;
  for (size_t i = 0; i < works.size(); ++i) {
    Work& work = works[i];
    if (!work.pending()) continue;
    if (work.kind == Kind::kHistory) {
      history.push_back(i);
      rows.push_back(std::move(work.row));
    } else if (work.kind == Kind::kCmd) {
      cmds.push_back(i);
      cmd_rows.push_back(CmdInsert{std::move(work.row), work.item->from_device_id(),
                                   work.to_subscribers, std::move(work.recipients)});
    } else {
      work.Succeed(work.row.message_id, 0, work.row.created_ms, false);
      work.MakeFanout(0, 0);
    }
  }
  const auto settle = [&](Work& work, const StoredMessage& row, const InsertOutcome& outcome) {
    switch (outcome.kind) {
      case InsertOutcome::Kind::kInserted:
        work.Succeed(row.message_id, row.seq, row.created_ms, false);
        // A cmd is pushed by the expander, with each recipient's cmd_seq.
        if (work.kind == Kind::kCmd) {
          work.cmd_stored = true;
        } else {
          work.MakeFanout(row.seq, outcome.red_dot_ordinal);
        }
        break;
      case InsertOutcome::Kind::kDuplicate:
        work.Succeed(outcome.existing->message_id, outcome.existing->seq,
                     outcome.existing->created_ms, true);
        break;
      case InsertOutcome::Kind::kSuperseded:
        work.Fail(im::common::v1::REASON_CODE_UNAVAILABLE,
                  "another replica committed a later message of this channel first; retry");
        break;
    }
  };
  if (!rows.empty()) {
    absl::StatusOr<std::vector<InsertOutcome>> outcomes = stores_.messages->InsertMessages(rows);
    if (!outcomes.ok()) {
      FailPending(works, outcomes.status(), Kind::kHistory);
    } else {
      // Each sender's last message per channel; items of a channel come in seq order.
      absl::flat_hash_map<std::pair<std::string_view, std::string_view>, size_t> last_of;
      for (size_t j = 0; j < history.size(); ++j) {
        Work& work = works[history[j]];
        const InsertOutcome& outcome = (*outcomes)[j];
        settle(work, rows[j], outcome);
        if (outcome.kind != InsertOutcome::Kind::kInserted) continue;
        last_of[{work.key.str(), work.item->from_uid()}] = j;
        if (work.key.is_person()) Remember(work.key.str());
      }
      for (const auto& [sender, j] : last_of) {
        Work& work = works[history[j]];
        im::conversation::v1::ReadAdvance& advance = work.read_advance.emplace();
        advance.set_uid(work.item->from_uid());
        *advance.mutable_channel() = work.item->channel();
        advance.set_read_seq(rows[j].seq);
        advance.set_red_dots((*outcomes)[j].red_dots);
        advance.set_own_red_dots((*outcomes)[j].own_red_dots);
      }
    }
  }
  if (!cmd_rows.empty()) {
    absl::StatusOr<std::vector<InsertOutcome>> outcomes = stores_.cmds->InsertCmds(cmd_rows);
    if (!outcomes.ok()) {
      FailPending(works, outcomes.status(), Kind::kCmd);
    } else {
      for (size_t j = 0; j < cmds.size(); ++j) {
        settle(works[cmds[j]], cmd_rows[j].message, (*outcomes)[j]);
      }
    }
  }
}

}  // namespace im::message
