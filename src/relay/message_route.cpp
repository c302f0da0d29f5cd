#include "relay/message_route.hpp"

namespace posthorn::relay {
namespace {

constexpr auto kNpos = std::string_view::npos;

std::size_t skip_space(std::string_view t, std::size_t i) noexcept {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
    ++i;
  return i;
}

/// `t[i]` is an opening quote: one past the closing quote, or kNpos.
std::size_t end_of_string(std::string_view t, std::size_t i) noexcept {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\')
      ++i; // whatever is escaped, it does not close the string
    else if (t[i] == '"')
      return i + 1;
  }
  return kNpos;
}

/// `t[i]` starts a value: the index just past it, or kNpos. Strings are stepped over whole and
/// nesting is counted, so commas and braces inside do not count; scalars run to the next ',', '}'
/// or ']'. Whether the value is valid JSON is the hub's business.
std::size_t end_of_value(std::string_view t, std::size_t i) noexcept {
  std::size_t depth = 0;
  while (i < t.size()) {
    const char c = t[i];
    if (c == '"') {
      i = end_of_string(t, i);
      if (i == kNpos || depth == 0) return i;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return i;
      if (--depth == 0) return i + 1;
    } else if (c == ',' && depth == 0) {
      return i;
    }
    ++i;
  }
  return depth == 0 ? i : kNpos;
}

} // namespace

std::optional<std::string_view> first_json_key(std::string_view text) noexcept {
  std::size_t i = skip_space(text, 0);
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  i = skip_space(text, i + 1);
  if (i >= text.size() || text[i] != '"') return std::nullopt;
  const std::size_t end = end_of_string(text, i);
  if (end == kNpos) return std::nullopt;
  return text.substr(i + 1, end - i - 2);
}

bool has_top_level_key(std::string_view text, std::string_view key) noexcept {
  std::size_t i = skip_space(text, 0);
  if (i >= text.size() || text[i] != '{') return false;
  i = skip_space(text, i + 1);
  for (;;) {
    if (i >= text.size() || text[i] != '"') return false; // also the '}' of an empty object
    const std::size_t end = end_of_string(text, i);
    if (end == kNpos) return false;
    if (text.substr(i + 1, end - i - 2) == key) return true;
    i = skip_space(text, end);
    if (i >= text.size() || text[i] != ':') return false;
    i = end_of_value(text, skip_space(text, i + 1));
    if (i == kNpos) return false;
    i = skip_space(text, i);
    if (i >= text.size() || text[i] != ',') return false; // '}': no more keys
    i = skip_space(text, i + 1);
  }
}

Protocol route_message(std::string_view text) noexcept {
  const std::size_t first = skip_space(text, 0);
  if (first < text.size() && text[first] == '[') return Protocol::Nostr;
  const auto key = first_json_key(text);
  if (!key) return Protocol::WsRelay;
  if (*key == "action") return Protocol::Tracker;
  if (*key == "type") return Protocol::WsRelay;
  return has_top_level_key(text, "action") ? Protocol::Tracker : Protocol::WsRelay;
}

} // namespace posthorn::relay
