#include "services/extension/extensions.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "services/extension/ext_json.h"
#include "services/message/public/channel_key.h"
#include "services/message/public/not_subscriber.h"

namespace im::extension {
namespace {

using im::common::v1::Channel;

// Most items per NotifyRequest (the message service refuses more).
constexpr size_t kNotifyItems = 1000;

ExtState StateOf(const StoredExtension& row) {
  return ExtState{.exists = true,
                  .status = row.status,
                  .ext = row.ext,
                  .version = row.version,
                  .version_pending = false,
                  .updated_ms = row.updated_ms,
                  .updated_by = row.updated_by};
}

v1::ExtensionValue ToValue(const ExtState& state, const std::string& channel_key,
                           uint64_t message_id, int64_t message_seq, const std::string& viewer) {
  v1::ExtensionValue value;
  *value.mutable_channel() = ChannelOfKey(channel_key, viewer);
  value.set_message_id(message_id);
  value.set_message_seq(message_seq);
  value.set_status(state.status);
  value.set_ext(state.ext);
  value.set_version(state.version);
  value.set_updated_at(state.updated_ms);
  value.set_updated_by(state.updated_by);
  return value;
}

v1::ExtensionValue ToValue(const StoredExtension& row, const std::string& viewer) {
  return ToValue(StateOf(row), row.channel_key, row.message_id, row.message_seq, viewer);
}

}  // namespace

struct Extensions::Batch {
  // One message a batch touches.
  struct Slot {
    MessageRef ref;
    std::optional<StoredExtension> stored;
    int64_t message_seq = 0;
  };
  // An item's decision, valid once committed.
  struct Result {
    Verdict verdict = Verdict::kApplied;
    absl::Status status;
    ExtState state;
    // While state.version_pending: the applied item whose version the state has.
    int version_item = -1;
  };

  explicit Batch(const std::vector<const PendingSet*>& in)
      : items(in),
        errors(in.size()),
        slot_of(in.size(), -1),
        results(in.size()),
        versions(in.size(), 0) {}

  bool active(size_t i) const { return errors[i].ok(); }
  void FailActive(const absl::Status& status) {
    for (absl::Status& error : errors) {
      if (error.ok()) error = status;
    }
  }

  const std::vector<const PendingSet*>& items;
  std::vector<absl::Status> errors;
  std::vector<int> slot_of;
  std::vector<Slot> slots;
  std::vector<Result> results;
  std::vector<int64_t> versions;
  // Applied items in order.
  std::vector<size_t> applied;
};

Extensions::Extensions(ExtensionStore* store, MessageClient* messages, VersionClient* versions,
                       Options options)
    : store_(store), messages_(messages), versions_(versions), options_(std::move(options)) {}

absl::StatusOr<PendingSet> Extensions::Prepare(const v1::SetRequest& request,
                                               int64_t now_ms) const {
  PendingSet pending;
  if (request.message_id() == 0) return absl::InvalidArgumentError("message_id is required");
  pending.message_id = request.message_id();
  const std::string& operator_uid = request.operator_uid();
  if (!operator_uid.empty()) {
    if (absl::Status s = ValidateId(operator_uid, "operator_uid"); !s.ok()) return s;
  } else if (request.from_client() ||
             request.channel().type() == im::common::v1::CHANNEL_TYPE_PERSON) {
    return absl::InvalidArgumentError(
        "operator_uid is required for person channels and client requests");
  }
  absl::StatusOr<ChannelKey> key = ChannelKey::For(operator_uid, request.channel());
  if (!key.ok()) return key.status();
  pending.channel_key = key->str();
  pending.channel_type = request.channel().type();
  if (!v1::SetMode_IsValid(request.mode())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown mode ", request.mode()));
  }
  if (!request.has_status() && request.ext().empty()) {
    return absl::InvalidArgumentError("nothing to change: set status, ext or both");
  }
  if (request.has_expected_version() && request.expected_version() < 0) {
    return absl::InvalidArgumentError("expected_version must not be negative");
  }
  Change& change = pending.change;
  if (!request.ext().empty()) {
    absl::StatusOr<nlohmann::json> ext = ParseExt(request.ext(), options_.max_ext_bytes);
    if (!ext.ok()) return ext.status();
    change.ext = *std::move(ext);
  }
  if (request.has_status()) change.status = request.status();
  change.mode =
      request.mode() == v1::SET_MODE_MERGE_PATCH ? v1::SET_MODE_MERGE_PATCH : v1::SET_MODE_REPLACE;
  if (request.has_expected_version()) change.expected_version = request.expected_version();
  change.operator_uid = operator_uid;
  change.timestamp_ms = now_ms;
  pending.from_client = request.from_client();
  if (pending.from_client) {
    if (absl::Status s =
            CheckClientRequest(options_.client, pending.channel_type, request.has_status());
        !s.ok()) {
      return s;
    }
    change.allowed_ext_fields = &options_.client.ext_fields;
  } else if (request.has_timestamp()) {
    if (request.timestamp() <= 0) return absl::InvalidArgumentError("timestamp must be positive");
    const int64_t latest_ms = now_ms + absl::ToInt64Milliseconds(options_.max_timestamp_skew);
    if (request.timestamp() > latest_ms) {
      return absl::InvalidArgumentError(
          absl::StrCat("timestamp ", request.timestamp(), " is more than ",
                       absl::FormatDuration(options_.max_timestamp_skew),
                       " past the server's clock (", now_ms, ")"));
    }
    change.timestamp_ms = request.timestamp();
  }
  return pending;
}

SetBatchResult Extensions::SetBatch(const std::vector<const PendingSet*>& items) {
  Batch batch(items);
  CheckMembership(batch);
  ReadCurrent(batch);
  Commit(batch);
  SetBatchResult result;
  Finish(batch, result);
  return result;
}

void Extensions::CheckMembership(Batch& batch) {
  // Clients' changes on groups, by group: one CheckSubscribers call each.
  absl::flat_hash_map<std::string, std::vector<size_t>> by_group;
  for (size_t i = 0; i < batch.items.size(); ++i) {
    const PendingSet& item = *batch.items[i];
    if (!item.from_client) continue;
    absl::StatusOr<ChannelKey> key = ChannelKey::Parse(item.channel_key);
    if (key.ok() && key->is_group()) by_group[std::string(key->group_id())].push_back(i);
  }
  for (const auto& [group_id, indexes] : by_group) {
    std::vector<std::string> uids;
    for (size_t i : indexes) uids.push_back(batch.items[i]->change.operator_uid);
    absl::StatusOr<std::vector<bool>> member = messages_->CheckSubscribers(group_id, uids);
    for (size_t j = 0; j < indexes.size(); ++j) {
      if (!member.ok()) {
        batch.errors[indexes[j]] = member.status();
      } else if (!(*member)[j]) {
        batch.errors[indexes[j]] = NotSubscriberError(uids[j], group_id);
      }
    }
  }
}

void Extensions::ReadCurrent(Batch& batch) {
  absl::flat_hash_map<std::pair<std::string_view, uint64_t>, int> slot_index;
  for (size_t i = 0; i < batch.items.size(); ++i) {
    if (!batch.active(i)) continue;
    const PendingSet& item = *batch.items[i];
    auto [it, inserted] = slot_index.try_emplace(
        std::pair<std::string_view, uint64_t>(item.channel_key, item.message_id),
        static_cast<int>(batch.slots.size()));
    if (inserted) batch.slots.push_back({.ref = {item.channel_key, item.message_id}, .stored = {}});
    batch.slot_of[i] = it->second;
  }
  if (batch.slots.empty()) return;
  std::vector<MessageRef> refs;
  for (const Batch::Slot& slot : batch.slots) refs.push_back(slot.ref);
  absl::StatusOr<std::vector<std::optional<StoredExtension>>> rows = store_->Read(refs);
  if (!rows.ok()) return batch.FailActive(rows.status());

  // Messages without an extension yet must exist: asked of the message service, per channel.
  absl::flat_hash_map<std::string, std::vector<int>> unknown;
  std::vector<bool> found(batch.slots.size(), false);
  for (size_t s = 0; s < batch.slots.size(); ++s) {
    Batch::Slot& slot = batch.slots[s];
    slot.stored = std::move((*rows)[s]);
    if (slot.stored.has_value()) {
      slot.message_seq = slot.stored->message_seq;
      found[s] = true;
    } else {
      unknown[slot.ref.channel_key].push_back(static_cast<int>(s));
    }
  }
  absl::flat_hash_map<std::string, absl::Status> channel_errors;
  for (const auto& [key, slots] : unknown) {
    absl::StatusOr<ChannelKey> parsed = ChannelKey::Parse(key);
    if (!parsed.ok()) {
      channel_errors[key] = parsed.status();
      continue;
    }
    const std::string reader(parsed->low_uid());
    std::vector<uint64_t> ids;
    for (int s : slots) ids.push_back(batch.slots[s].ref.message_id);
    absl::StatusOr<absl::flat_hash_map<uint64_t, int64_t>> seqs =
        messages_->MessageSeqs(reader, parsed->AsSeenBy(reader), ids);
    if (!seqs.ok()) {
      channel_errors[key] = seqs.status();
      continue;
    }
    for (int s : slots) {
      auto it = seqs->find(batch.slots[s].ref.message_id);
      if (it == seqs->end()) continue;
      batch.slots[s].message_seq = it->second;
      found[s] = true;
    }
  }
  for (size_t i = 0; i < batch.items.size(); ++i) {
    if (!batch.active(i)) continue;
    const int s = batch.slot_of[i];
    if (found[s]) continue;
    auto error = channel_errors.find(batch.slots[s].ref.channel_key);
    batch.errors[i] =
        error != channel_errors.end()
            ? error->second
            : absl::NotFoundError(absl::StrCat("message ", batch.items[i]->message_id,
                                               " does not exist in ", "this channel"));
  }
}

void Extensions::Commit(Batch& batch) {
  // The slots the remaining items touch, each locked and read once.
  std::vector<int> locked_slots;
  absl::flat_hash_map<int, size_t> position;
  for (size_t i = 0; i < batch.items.size(); ++i) {
    if (!batch.active(i)) continue;
    if (position.try_emplace(batch.slot_of[i], locked_slots.size()).second) {
      locked_slots.push_back(batch.slot_of[i]);
    }
  }
  if (locked_slots.empty()) return;
  std::vector<MessageRef> refs;
  for (int s : locked_slots) refs.push_back(batch.slots[s].ref);

  const absl::Status status = store_->Apply(
      refs,
      [&](const std::vector<std::optional<StoredExtension>>& rows)
          -> absl::StatusOr<ExtensionWrites> {
        std::vector<ExtState> states(locked_slots.size());
        std::vector<int> last_change(locked_slots.size(), -1);
        std::vector<ExtState> before(batch.items.size());
        for (size_t p = 0; p < locked_slots.size(); ++p) {
          if (rows[p].has_value()) {
            states[p] = StateOf(*rows[p]);
            batch.slots[locked_slots[p]].message_seq = rows[p]->message_seq;
          }
        }
        batch.applied.clear();
        for (size_t i = 0; i < batch.items.size(); ++i) {
          if (!batch.active(i)) continue;
          const size_t p = position.at(batch.slot_of[i]);
          Decision decision =
              Decide(states[p], batch.items[i]->change, {.max_ext_bytes = options_.max_ext_bytes});
          Batch::Result& result = batch.results[i];
          result.verdict = decision.verdict;
          result.status = std::move(decision.status);
          result.state = std::move(decision.next);
          if (result.verdict == Verdict::kApplied) {
            before[i] = states[p];
            states[p] = result.state;
            states[p].version_pending = true;
            last_change[p] = static_cast<int>(i);
            result.version_item = static_cast<int>(i);
            batch.applied.push_back(i);
          } else {
            result.version_item = states[p].version_pending ? last_change[p] : -1;
          }
        }

        // Versions: one range per channel, cut in arrival order.
        std::vector<std::pair<std::string, uint32_t>> counts;
        absl::flat_hash_map<std::string_view, size_t> count_of;
        for (size_t i : batch.applied) {
          const std::string& key = batch.items[i]->channel_key;
          auto [it, inserted] = count_of.try_emplace(key, counts.size());
          if (inserted) counts.emplace_back(key, 0);
          ++counts[it->second].second;
        }
        absl::StatusOr<std::vector<int64_t>> firsts = versions_->Allocate(counts);
        if (!firsts.ok()) return firsts.status();
        for (size_t i : batch.applied) {
          batch.versions[i] = (*firsts)[count_of.at(batch.items[i]->channel_key)]++;
        }

        ExtensionWrites writes;
        for (size_t p = 0; p < locked_slots.size(); ++p) {
          if (last_change[p] < 0) continue;
          const Batch::Slot& slot = batch.slots[locked_slots[p]];
          const ExtState& state = states[p];
          writes.values.push_back(StoredExtension{.channel_key = slot.ref.channel_key,
                                                  .message_id = slot.ref.message_id,
                                                  .message_seq = slot.message_seq,
                                                  .status = state.status,
                                                  .ext = state.ext,
                                                  .version = batch.versions[last_change[p]],
                                                  .updated_ms = state.updated_ms,
                                                  .updated_by = state.updated_by});
        }
        for (size_t i : batch.applied) {
          const PendingSet& item = *batch.items[i];
          const ExtState& after = batch.results[i].state;
          Operation op{.channel_key = item.channel_key,
                       .version = batch.versions[i],
                       .message_id = item.message_id,
                       .operator_uid = item.change.operator_uid,
                       .at_ms = item.change.timestamp_ms,
                       .old_status = std::nullopt,
                       .old_ext = std::nullopt,
                       .new_status = after.status,
                       .new_ext = after.ext};
          if (before[i].exists) {
            op.old_status = before[i].status;
            op.old_ext = before[i].ext;
          }
          writes.operations.push_back(std::move(op));
        }
        return writes;
      });
  if (!status.ok()) {
    batch.FailActive(status);
    batch.applied.clear();
  }
}

void Extensions::Finish(Batch& batch, SetBatchResult& result) {
  result.outcomes.resize(batch.items.size());
  for (size_t i = 0; i < batch.items.size(); ++i) {
    SetOutcome& outcome = result.outcomes[i];
    if (!batch.active(i)) {
      outcome.status = batch.errors[i];
      continue;
    }
    const PendingSet& item = *batch.items[i];
    Batch::Result& decided = batch.results[i];
    if (decided.state.version_pending || decided.verdict == Verdict::kApplied) {
      decided.state.version = batch.versions[decided.version_item];
      decided.state.version_pending = false;
    }
    const Batch::Slot& slot = batch.slots[batch.slot_of[i]];
    v1::ExtensionValue value = ToValue(decided.state, item.channel_key, item.message_id,
                                       slot.message_seq, item.change.operator_uid);
    switch (decided.verdict) {
      case Verdict::kApplied:
      case Verdict::kOlder:
        outcome.response.set_applied(decided.verdict == Verdict::kApplied);
        *outcome.response.mutable_value() = std::move(value);
        break;
      case Verdict::kVersionMismatch:
        outcome.status = decided.status;
        SetDetails(outcome.status, value);
        break;
      case Verdict::kRejected:
        outcome.status = decided.status;
        break;
    }
  }

  // Notifications: per channel, its applied changes in version order.
  std::vector<std::string> order;
  absl::flat_hash_map<std::string, std::vector<size_t>> by_channel;
  for (size_t i : batch.applied) {
    auto [it, inserted] = by_channel.try_emplace(batch.items[i]->channel_key);
    if (inserted) order.push_back(batch.items[i]->channel_key);
    it->second.push_back(i);
  }
  const auto add_item = [&](const ChannelKey& key, const std::vector<size_t>& indexes,
                            const std::string& viewer, bool to_viewer) {
    if (result.notifications.empty() ||
        static_cast<size_t>(result.notifications.back().items_size()) >= kNotifyItems) {
      result.notifications.emplace_back();
    }
    im::message::v1::NotifyItem* item = result.notifications.back().add_items();
    *item->mutable_channel() = key.AsSeenBy(viewer);
    if (to_viewer) item->add_uids(viewer);
    v1::ExtensionChanged* changed = item->mutable_extension_changed();
    *changed->mutable_channel() = item->channel();
    for (size_t i : indexes) {
      *changed->add_values() =
          ToValue(batch.results[i].state, key.str(), batch.items[i]->message_id,
                  batch.slots[batch.slot_of[i]].message_seq, viewer);
    }
  };
  for (const std::string& stored : order) {
    // Every key here was made by ChannelKey::For in Prepare.
    absl::StatusOr<ChannelKey> key = ChannelKey::Parse(stored);
    if (!key.ok()) continue;
    const std::vector<size_t>& indexes = by_channel[stored];
    if (key->is_person()) {
      add_item(*key, indexes, std::string(key->low_uid()), true);
      add_item(*key, indexes, std::string(key->high_uid()), true);
    } else {
      add_item(*key, indexes, "", false);
    }
  }
}

absl::StatusOr<std::string> Extensions::ReaderKey(const std::string& uid, const Channel& channel) {
  if (uid.empty()) {
    if (channel.type() != im::common::v1::CHANNEL_TYPE_GROUP) {
      return absl::InvalidArgumentError("uid is required to read a person channel");
    }
    absl::StatusOr<ChannelKey> key = ChannelKey::Group(channel.id());
    if (!key.ok()) return key.status();
    return key->str();
  }
  absl::StatusOr<ChannelKey> key = ChannelKey::For(uid, channel);
  if (!key.ok()) return key.status();
  if (channel.type() != im::common::v1::CHANNEL_TYPE_GROUP) return key->str();
  absl::StatusOr<std::vector<bool>> member = messages_->CheckSubscribers(channel.id(), {uid});
  if (!member.ok()) return member.status();
  if (!(*member)[0]) return NotSubscriberError(uid, channel.id());
  return key->str();
}

absl::StatusOr<v1::GetResponse> Extensions::Get(const v1::GetRequest& request) {
  if (static_cast<size_t>(request.message_ids_size()) > options_.max_get) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", options_.max_get, " message_ids per Get"));
  }
  absl::StatusOr<std::string> key = ReaderKey(request.uid(), request.channel());
  if (!key.ok()) return key.status();
  absl::StatusOr<std::vector<StoredExtension>> rows =
      store_->Get(*key, {request.message_ids().begin(), request.message_ids().end()});
  if (!rows.ok()) return rows.status();
  absl::flat_hash_map<uint64_t, const StoredExtension*> by_id;
  for (const StoredExtension& row : *rows) by_id[row.message_id] = &row;
  v1::GetResponse response;
  for (uint64_t id : request.message_ids()) {
    auto it = by_id.find(id);
    if (it == by_id.end()) continue;
    *response.add_values() = ToValue(*it->second, request.uid());
    by_id.erase(it);
  }
  return response;
}

absl::StatusOr<v1::SyncResponse> Extensions::Sync(const v1::SyncRequest& request) {
  if (request.since_version() < 0) {
    return absl::InvalidArgumentError("since_version must not be negative");
  }
  absl::StatusOr<std::string> key = ReaderKey(request.uid(), request.channel());
  if (!key.ok()) return key.status();
  const uint32_t limit = request.limit() == 0 ? options_.sync_default_limit
                                              : std::min(request.limit(), options_.sync_max_limit);
  absl::StatusOr<VersionPage> page = store_->ReadSince(*key, request.since_version(), limit);
  if (!page.ok()) return page.status();
  v1::SyncResponse response;
  for (const StoredExtension& row : page->values) {
    *response.add_values() = ToValue(row, request.uid());
  }
  response.set_has_more(page->has_more);
  response.set_latest_version(page->has_more ? page->values.back().version : page->max_version);
  return response;
}

}  // namespace im::extension
