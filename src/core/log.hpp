#pragma once
// One logging facade (STYLE.md "Logging"). Levels and a component tag per line; the sink is
// replaceable (tests capture, the CLI writes to stderr). Addresses, SDP, candidates and ids are
// personal data: wrap them in redact() so they print as "<redacted:N>" unless the process opted in
// with set_log_redaction(false) (the CLI's --log-unredacted, for debugging on one's own machine).
//
//   POSTHORN_LOG(Debug, "ice", "pair {} succeeded", redact(addr));  // "{}" takes the next part
//   POSTHORN_LOG(Debug, "ice", "pair succeeded: ", redact(addr));   // or parts are concatenated

#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn {

enum class LogLevel : std::uint8_t { Trace, Debug, Info, Warn, Error, Off };

using LogSink = std::function<void(LogLevel, std::string_view component, std::string_view text)>;

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
void set_log_sink(LogSink sink);
void set_log_redaction(bool on) noexcept;
bool log_redaction() noexcept;
/// Parses "trace|debug|info|warn|error|off"; Info for anything else.
LogLevel parse_log_level(std::string_view name) noexcept;

inline bool log_enabled(LogLevel level) noexcept {
  return level >= log_level();
}
void log_write(LogLevel level, std::string_view component, std::string_view text);

/// Marks a value as personal data for the log.
struct Redacted {
  std::string text;
};
Redacted redact(std::string_view text);
std::ostream& operator<<(std::ostream& os, const Redacted& r);

namespace detail {
/// `parts[0]` with each "{}" replaced by the next part; parts left over are appended.
std::string log_format(std::vector<std::string>& parts);

template <class... Args> std::string log_concat(const Args&... args) {
  std::vector<std::string> parts;
  parts.reserve(sizeof...(args));
  ((parts.push_back((std::ostringstream() << args).str())), ...);
  return log_format(parts);
}
} // namespace detail

} // namespace posthorn

/// POSTHORN_LOG(Level, "component", parts...) — parts are streamed (<<) only when enabled.
#define POSTHORN_LOG(level, component, ...)                                                        \
  do {                                                                                             \
    if (::posthorn::log_enabled(::posthorn::LogLevel::level))                                      \
      ::posthorn::log_write(::posthorn::LogLevel::level, component,                                \
                            ::posthorn::detail::log_concat(__VA_ARGS__));                          \
  } while (0)
