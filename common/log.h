// Structured logging: one JSON object per line on stderr, which is what container log collectors
// (Loki, Fluent Bit) parse without configuration. Abseil 20220623 has no logging, hence this
// wrapper.
//
//   im::log::Info("listening", {{"port", absl::StrCat(port)}});
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace im::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

using Field = std::pair<std::string_view, std::string>;

// Lines below `level` are dropped. Thread-safe.
void SetMinLevel(Level level);
// Parses "debug", "info", "warning" or "error"; false for anything else.
bool ParseLevel(std::string_view text, Level* level);

void Write(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void Debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, event, fields);
}
inline void Info(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, event, fields);
}
inline void Warning(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarning, event, fields);
}
inline void Error(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, event, fields);
}

}  // namespace im::log
