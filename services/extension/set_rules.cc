#include "services/extension/set_rules.h"

#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/string_view.h"
#include "services/extension/ext_json.h"

namespace im::extension {
namespace {

Decision Unchanged(const ExtState& current, Verdict verdict, absl::Status status) {
  return Decision{verdict, std::move(status), current};
}

}  // namespace

Decision Decide(const ExtState& current, const Change& change, const DecideOptions& options) {
  ExtState next = current;
  if (change.ext.has_value()) {
    absl::StatusOr<std::string> ext =
        ApplyExt(current.ext, *change.ext, change.mode, options.max_ext_bytes);
    if (!ext.ok()) return Unchanged(current, Verdict::kRejected, ext.status());
    next.ext = *std::move(ext);
  }
  if (change.status.has_value()) next.status = *change.status;
  if (change.allowed_ext_fields != nullptr && next.ext != current.ext) {
    for (const std::string& member :
         ChangedMembers(nlohmann::json::parse(current.ext), nlohmann::json::parse(next.ext))) {
      if (!change.allowed_ext_fields->contains(member)) {
        return Unchanged(current, Verdict::kRejected,
                         absl::PermissionDeniedError(absl::StrCat(
                             "clients may not change the ext member \"", member, "\"")));
      }
    }
  }
  next.exists = true;
  next.updated_by = change.operator_uid;
  next.updated_ms = change.timestamp_ms;
  if (change.expected_version.has_value()) {
    const bool matches =
        !current.version_pending && (current.exists ? current.version == *change.expected_version
                                                    : *change.expected_version == 0);
    if (!matches) {
      return Unchanged(current, Verdict::kVersionMismatch,
                       absl::FailedPreconditionError(absl::StrCat(
                           "expected version ", *change.expected_version, " but the extension ",
                           current.exists ? "has changed since" : "does not exist yet")));
    }
    if (current.exists && next.updated_ms < current.updated_ms) {
      next.updated_ms = current.updated_ms;
    }
    return Decision{Verdict::kApplied, absl::OkStatus(), std::move(next)};
  }
  if (current.exists && std::tie(change.timestamp_ms, change.operator_uid) <
                            std::tie(current.updated_ms, current.updated_by)) {
    return Unchanged(current, Verdict::kOlder, absl::OkStatus());
  }
  return Decision{Verdict::kApplied, absl::OkStatus(), std::move(next)};
}

absl::Status CheckClientRequest(const ClientPolicy& policy, im::common::v1::ChannelType type,
                                bool sets_status) {
  if (!policy.channel_types.contains(type)) {
    return absl::PermissionDeniedError(
        absl::StrCat("clients may not set extensions on ",
                     absl::AsciiStrToLower(absl::StripPrefix(im::common::v1::ChannelType_Name(type),
                                                             "CHANNEL_TYPE_")),
                     " channels"));
  }
  if (sets_status && !policy.status) {
    return absl::PermissionDeniedError("clients may not set an extension's status");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::flat_hash_set<int>> ParseChannelTypes(std::string_view list) {
  absl::flat_hash_set<int> types;
  for (absl::string_view part : absl::StrSplit(AbslView(list), ',', absl::SkipWhitespace())) {
    const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(part));
    if (name == "person") {
      types.insert(im::common::v1::CHANNEL_TYPE_PERSON);
    } else if (name == "group") {
      types.insert(im::common::v1::CHANNEL_TYPE_GROUP);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown channel type \"", name, "\" (use person, group)"));
    }
  }
  return types;
}

}  // namespace im::extension
