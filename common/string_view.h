// Debian's Abseil is built with its own absl::string_view, a type distinct from std::string_view,
// so absl::StrCat, StrSplit and friends do not take a std::string_view without this conversion.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace im {

inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

}  // namespace im
