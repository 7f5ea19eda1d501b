#include "services/extension/ext_json.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace im::extension {

std::string CanonicalDump(const nlohmann::json& value) {
  // nlohmann::json keeps object members in a std::map, so the dump's key order is already sorted.
  return value.dump();
}

absl::StatusOr<nlohmann::json> ParseExt(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ext is ", text.size(), " bytes; the limit is ", max_bytes));
  }
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat("ext is not valid JSON (at byte ", e.byte, ")"));
  }
  if (!parsed.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ext must be a JSON object, not ", parsed.type_name()));
  }
  return parsed;
}

absl::StatusOr<std::string> ApplyExt(std::string_view current, const nlohmann::json& ext,
                                     im::extension::v1::SetMode mode, size_t max_bytes) {
  std::string result;
  if (mode == im::extension::v1::SET_MODE_MERGE_PATCH) {
    nlohmann::json merged = nlohmann::json::parse(current.empty() ? kEmptyExt : current);
    merged.merge_patch(ext);
    result = CanonicalDump(merged);
  } else {
    result = CanonicalDump(ext);
  }
  if (result.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ext would be ", result.size(), " bytes after this change; the limit is ", max_bytes));
  }
  return result;
}

std::vector<std::string> ChangedMembers(const nlohmann::json& before, const nlohmann::json& after) {
  std::vector<std::string> changed;
  for (const auto& [key, value] : before.items()) {
    auto it = after.find(key);
    if (it == after.end() || *it != value) changed.push_back(key);
  }
  for (const auto& [key, value] : after.items()) {
    if (!before.contains(key)) changed.push_back(key);
  }
  std::sort(changed.begin(), changed.end());
  return changed;
}

}  // namespace im::extension
