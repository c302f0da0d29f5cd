#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace posthorn {
namespace {

std::atomic<LogLevel> g_level{LogLevel::Warn};
std::atomic<bool> g_redact{true};

struct SinkHolder {
  std::mutex mutex;
  LogSink sink;
};
SinkHolder& sink_holder() {
  static SinkHolder h;
  return h;
}

const char* level_name(LogLevel l) noexcept {
  switch (l) {
  case LogLevel::Trace: return "trace";
  case LogLevel::Debug: return "debug";
  case LogLevel::Info: return "info";
  case LogLevel::Warn: return "warn";
  case LogLevel::Error: return "error";
  case LogLevel::Off: return "off";
  }
  return "?";
}

} // namespace

void set_log_level(LogLevel level) noexcept {
  g_level = level;
}
LogLevel log_level() noexcept {
  return g_level;
}
void set_log_redaction(bool on) noexcept {
  g_redact = on;
}
bool log_redaction() noexcept {
  return g_redact;
}

void set_log_sink(LogSink sink) {
  auto& h = sink_holder();
  std::lock_guard lock(h.mutex);
  h.sink = std::move(sink);
}

LogLevel parse_log_level(std::string_view name) noexcept {
  for (auto l : {LogLevel::Trace, LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error,
                 LogLevel::Off}) {
    if (name == level_name(l)) return l;
  }
  return LogLevel::Info;
}

void log_write(LogLevel level, std::string_view component, std::string_view text) {
  auto& h = sink_holder();
  std::lock_guard lock(h.mutex);
  if (h.sink) {
    h.sink(level, component, text);
    return;
  }
  // Monotonic clock in seconds (shared by all processes on the machine, so traces of two peers
  // interleave correctly; not wall-clock time, so no PII).
  const double ms =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::fprintf(stderr, "%.6f [%s] %.*s: %.*s\n", ms, level_name(level),
               static_cast<int>(component.size()), component.data(), static_cast<int>(text.size()),
               text.data());
}

Redacted redact(std::string_view text) {
  if (!log_redaction()) return {std::string(text)};
  return {"<redacted:" + std::to_string(text.size()) + ">"};
}

std::ostream& operator<<(std::ostream& os, const Redacted& r) {
  return os << r.text;
}

namespace detail {

std::string log_format(std::vector<std::string>& parts) {
  if (parts.empty()) return {};
  std::string out;
  std::size_t next = 1;
  const std::string& format = parts[0];
  std::size_t from = 0;
  for (std::size_t at; next < parts.size() && (at = format.find("{}", from)) != std::string::npos;
       from = at + 2) {
    out.append(format, from, at - from);
    out += parts[next++];
  }
  out.append(format, from);
  for (; next < parts.size(); ++next)
    out += parts[next];
  return out;
}

} // namespace detail

} // namespace posthorn
