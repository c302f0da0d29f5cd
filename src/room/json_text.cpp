#include "room/json_text.hpp"

#include "room/utf8.hpp"

#include <cstdint>

namespace posthorn::room::detail {
namespace {

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

struct RawMember {
  Span key;
  Span value;
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

/// One pass over a JSON text. When `members` is set, records the spans of the top-level object's
/// keys and values.
class Scanner {
public:
  Scanner(std::string_view text, std::vector<RawMember>* members) : s_(text), members_(members) {}

  bool run() {
    std::vector<char> stack; // '[' or '{' for each open container
    Span key;
    std::size_t value_begin = 0;
    for (;;) {
      // A value is expected at pos_.
      skip_ws();
      const bool top_member = stack.size() == 1 && stack[0] == '{';
      if (top_member) value_begin = pos_;
      if (at('{')) {
        ++pos_;
        skip_ws();
        if (at('}')) {
          ++pos_;
        } else {
          stack.push_back('{');
          if (!member_key(stack.size() == 1 ? &key : nullptr)) return false;
          continue;
        }
      } else if (at('[')) {
        ++pos_;
        skip_ws();
        if (at(']')) {
          ++pos_;
        } else {
          stack.push_back('[');
          continue;
        }
      } else if (!scalar()) {
        return false;
      }
      // A value just ended; close containers until one continues with ','.
      for (;;) {
        if (stack.empty()) {
          skip_ws();
          return pos_ == s_.size();
        }
        if (members_ && stack.size() == 1 && stack[0] == '{')
          members_->push_back({key, {value_begin, pos_}});
        skip_ws();
        const char open = stack.back();
        if (at(',')) {
          ++pos_;
          if (open == '{') {
            skip_ws();
            if (!member_key(stack.size() == 1 ? &key : nullptr)) return false;
          }
          break;
        }
        if ((open == '[' && at(']')) || (open == '{' && at('}'))) {
          ++pos_;
          stack.pop_back();
          continue;
        }
        return false;
      }
    }
  }

private:
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  bool member_key(Span* key) {
    const std::size_t begin = pos_;
    if (!string()) return false;
    if (key) *key = {begin, pos_};
    skip_ws();
    if (!at(':')) return false;
    ++pos_;
    return true;
  }

  bool scalar() {
    if (at('"')) return string();
    if (at('-') || (pos_ < s_.size() && is_digit(s_[pos_]))) return number();
    return literal("true") || literal("false") || literal("null");
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool string() {
    if (!at('"')) return false;
    ++pos_;
    while (pos_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return false; // control characters must be escaped
      if (c != '\\') {
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) return false;
      const char e = s_[pos_++];
      if (e == 'u') {
        for (int i = 0; i < 4; ++i, ++pos_)
          if (pos_ >= s_.size() || !is_hex(s_[pos_])) return false;
      } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
        return false;
      }
    }
    return false;
  }

  bool digits() {
    const std::size_t begin = pos_;
    while (pos_ < s_.size() && is_digit(s_[pos_]))
      ++pos_;
    return pos_ > begin;
  }

  bool number() {
    if (at('-')) ++pos_;
    if (at('0')) {
      ++pos_;
    } else if (!digits()) {
      return false;
    }
    if (at('.')) {
      ++pos_;
      if (!digits()) return false;
    }
    if (at('e') || at('E')) {
      ++pos_;
      if (at('+') || at('-')) ++pos_;
      if (!digits()) return false;
    }
    return true;
  }

  std::string_view s_;
  std::vector<RawMember>* members_;
  std::size_t pos_ = 0;
};

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::uint32_t read_hex4(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i)
    v = (v << 4) | static_cast<std::uint32_t>(hex_value(s[at + i]));
  return v;
}

/// Decodes the body of a string token already known to be well-formed.
std::string decode_string_token(std::string_view raw) {
  std::string out;
  const std::string_view body = raw.substr(1, raw.size() - 2);
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size();) {
    const char c = body[i];
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    const char e = body[i + 1];
    i += 2;
    switch (e) {
    case 'b': out.push_back('\b'); continue;
    case 'f': out.push_back('\f'); continue;
    case 'n': out.push_back('\n'); continue;
    case 'r': out.push_back('\r'); continue;
    case 't': out.push_back('\t'); continue;
    case 'u': break;
    default: out.push_back(e); continue; // \" \\ \/
    }
    std::uint32_t cp = read_hex4(body, i);
    i += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= body.size() && body[i] == '\\' &&
        body[i + 1] == 'u') {
      const std::uint32_t low = read_hex4(body, i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        i += 6;
      }
    }
    // A JS string may hold a lone surrogate; its UTF-8 (TextEncoder) is U+FFFD.
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    append_utf8(out, cp);
  }
  // Raw bytes were copied as they were; make the result valid UTF-8 the way JS would see it.
  if (is_valid_utf8(as_bytes(out))) return out;
  Bytes fixed;
  Utf8Decoder decoder(false);
  decoder.feed(as_bytes(out), fixed);
  decoder.finish(fixed);
  return std::string(fixed.begin(), fixed.end());
}

} // namespace

bool is_valid_json(std::string_view text) {
  return Scanner(text, nullptr).run();
}

std::optional<std::vector<JsonMember>> parse_json_object(std::string_view text) {
  std::size_t first = 0;
  while (first < text.size() &&
         (text[first] == ' ' || text[first] == '\t' || text[first] == '\n' || text[first] == '\r'))
    ++first;
  if (first >= text.size() || text[first] != '{') return std::nullopt;
  std::vector<RawMember> raw;
  if (!Scanner(text, &raw).run()) return std::nullopt;
  std::vector<JsonMember> members;
  members.reserve(raw.size());
  for (const auto& m : raw)
    members.push_back({decode_string_token(text.substr(m.key.begin, m.key.end - m.key.begin)),
                       text.substr(m.value.begin, m.value.end - m.value.begin)});
  return members;
}

const JsonMember* find_member(const std::vector<JsonMember>& members, std::string_view key) {
  for (auto it = members.rbegin(); it != members.rend(); ++it)
    if (it->key == key) return &*it;
  return nullptr;
}

std::optional<std::string> json_string_value(std::string_view raw) {
  if (raw.empty() || raw.front() != '"') return std::nullopt;
  if (!is_valid_json(raw)) return std::nullopt;
  return decode_string_token(raw);
}

std::string json_quote(std::string_view s) {
  std::string text = is_valid_utf8(as_bytes(s)) ? std::string(s) : [&] {
    Bytes fixed;
    Utf8Decoder decoder(false);
    decoder.feed(as_bytes(s), fixed);
    decoder.finish(fixed);
    return std::string(fixed.begin(), fixed.end());
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
    case '"': out += "\\\""; continue;
    case '\\': out += "\\\\"; continue;
    case '\b': out += "\\b"; continue;
    case '\f': out += "\\f"; continue;
    case '\n': out += "\\n"; continue;
    case '\r': out += "\\r"; continue;
    case '\t': out += "\\t"; continue;
    default: break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20) {
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

} // namespace posthorn::room::detail
