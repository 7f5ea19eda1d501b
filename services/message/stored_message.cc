#include "services/message/stored_message.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace im::message {

StoredMessage StoredMessageFromRow(const pqxx::row& row, int first) {
  StoredMessage m;
  m.channel_key = row[first].as<std::string>();
  m.seq = row[first + 1].as<int64_t>();
  m.message_id = static_cast<uint64_t>(row[first + 2].as<int64_t>());
  m.from_uid = row[first + 3].as<std::string>();
  m.client_msg_no = row[first + 4].as<std::string>();
  m.red_dot_ordinal = row[first + 5].as<int64_t>();
  m.red_dot = (row[first + 6].as<int>() & kFlagRedDot) != 0;
  m.payload = pqxx::binarystring(row[first + 7]).str();
  m.created_ms = row[first + 8].as<int64_t>();
  return m;
}

std::string ByteaArray(const std::vector<const std::string*>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    absl::StrAppend(&out, "\"\\\\x", absl::BytesToHexString(*values[i]), "\"");
  }
  out.push_back('}');
  return out;
}

PgRead FindBySenderKeys(const PgStatement& find, const std::vector<SenderKey>& keys,
                        std::vector<std::optional<StoredMessage>>* found) {
  std::vector<std::string> channel_keys, from_uids, client_msg_nos;
  for (const SenderKey& key : keys) {
    channel_keys.push_back(key.channel_key);
    from_uids.push_back(key.from_uid);
    client_msg_nos.push_back(key.client_msg_no);
  }
  const size_t count = keys.size();
  return {{find, {PgArray(channel_keys), PgArray(from_uids), PgArray(client_msg_nos)}},
          [found, count](const pqxx::result& rows) {
            found->assign(count, std::nullopt);
            for (const auto& row : rows) {
              (*found)[row[0].as<size_t>() - 1] = StoredMessageFromRow(row, 1);
            }
          }};
}

void ResolveSkipped(pqxx::transaction_base& tx, const PgStatement& find,
                    const std::vector<const StoredMessage*>& rows,
                    std::vector<InsertOutcome>* outcomes) {
  std::vector<size_t> skipped;
  std::vector<SenderKey> keys;
  for (size_t i = 0; i < rows.size(); ++i) {
    if ((*outcomes)[i].kind == InsertOutcome::Kind::kSuperseded) {
      skipped.push_back(i);
      keys.push_back({rows[i]->channel_key, rows[i]->from_uid, rows[i]->client_msg_no});
    }
  }
  if (keys.empty()) return;
  std::vector<std::optional<StoredMessage>> found;
  ExecPreparedReads(tx, {FindBySenderKeys(find, keys, &found)});
  for (size_t j = 0; j < skipped.size(); ++j) {
    if (!found[j].has_value()) continue;
    (*outcomes)[skipped[j]].kind = InsertOutcome::Kind::kDuplicate;
    (*outcomes)[skipped[j]].existing = found[j];
  }
}

}  // namespace im::message
