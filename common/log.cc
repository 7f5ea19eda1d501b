#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace im::log {
namespace {

std::atomic<int> min_level{static_cast<int>(Level::kInfo)};

constexpr std::string_view kLevelNames[] = {"debug", "info", "warning", "error"};

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

void SetMinLevel(Level level) { min_level.store(static_cast<int>(level)); }

bool ParseLevel(std::string_view text, Level* level) {
  for (int i = 0; i < 4; ++i) {
    if (text == kLevelNames[i]) {
      *level = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void Write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < min_level.load(std::memory_order_relaxed)) return;
  std::string line = "{\"ts\":";
  AppendJsonString(line,
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()));
  line += ",\"level\":";
  AppendJsonString(line, kLevelNames[static_cast<int>(level)]);
  line += ",\"event\":";
  AppendJsonString(line, event);
  for (const auto& [key, value] : fields) {
    line.push_back(',');
    AppendJsonString(line, key);
    line.push_back(':');
    AppendJsonString(line, value);
  }
  line += "}\n";
  // One fwrite per line keeps lines whole when threads log at once.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace im::log
