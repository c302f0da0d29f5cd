#include "signal/json_scan.hpp"

#include <charconv>
#include <cstdlib>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace posthorn::signal::json {
namespace {

/// How many leading bytes of p[0..n) need no attention inside a JSON string: not a quote, a
/// backslash, a control character or a non-ASCII byte. SDPs and ciphertexts are long runs of
/// such bytes, so this is where the relay's parsing time goes: 16 bytes per step with SSE2.
std::size_t plain_run(const char* p, std::size_t n) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them with the controls.
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmplt_epi8(v, space));
    if (const int mask = _mm_movemask_epi8(special); mask != 0)
      return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
  }
  return i;
}

bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// Length of the well-formed UTF-8 sequence at s[i] (Unicode Table 3-7), 0 if ill-formed.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100u;
  };
  const unsigned c0 = b(0);
  const auto cont = [](unsigned c, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return c >= lo && c <= hi;
  };
  if (c0 < 0x80) return 1;
  if (c0 >= 0xC2 && c0 <= 0xDF) return cont(b(1)) ? 2 : 0;
  if (c0 == 0xE0) return cont(b(1), 0xA0) && cont(b(2)) ? 3 : 0;
  if ((c0 >= 0xE1 && c0 <= 0xEC) || c0 == 0xEE || c0 == 0xEF)
    return cont(b(1)) && cont(b(2)) ? 3 : 0;
  if (c0 == 0xED) return cont(b(1), 0x80, 0x9F) && cont(b(2)) ? 3 : 0;
  if (c0 == 0xF0) return cont(b(1), 0x90) && cont(b(2)) && cont(b(3)) ? 4 : 0;
  if (c0 >= 0xF1 && c0 <= 0xF3) return cont(b(1)) && cont(b(2)) && cont(b(3)) ? 4 : 0;
  if (c0 == 0xF4) return cont(b(1), 0x80, 0x8F) && cont(b(2)) && cont(b(3)) ? 4 : 0;
  return 0;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

} // namespace

void Scanner::skip_ws() noexcept {
  while (pos_ < text_.size() && is_ws(text_[pos_]))
    ++pos_;
}

char Scanner::peek() noexcept {
  skip_ws();
  return pos_ < text_.size() ? text_[pos_] : '\0';
}

bool Scanner::consume(char c) noexcept {
  if (peek() != c || pos_ >= text_.size()) return false;
  ++pos_;
  return true;
}

bool Scanner::at_end() noexcept {
  skip_ws();
  // nlohmann's lexer takes a NUL for the end of the input: whatever follows it is ignored.
  return pos_ == text_.size() || text_[pos_] == '\0';
}

bool Scanner::skip_value(int depth) noexcept {
  if (depth > kMaxDepth) return false;
  switch (peek()) {
  case '{': {
    ++pos_;
    if (consume('}')) return true;
    do {
      if (peek() != '"' || !scan_string(nullptr) || !consume(':') || !skip_value(depth + 1))
        return false;
    } while (consume(','));
    return consume('}');
  }
  case '[': {
    ++pos_;
    if (consume(']')) return true;
    do {
      if (!skip_value(depth + 1)) return false;
    } while (consume(','));
    return consume(']');
  }
  case '"': return scan_string(nullptr); // never allocates without an output
  case 't': return scan_literal("true");
  case 'f': return scan_literal("false");
  case 'n': return scan_literal("null");
  default: return scan_number(nullptr); // never allocates without an output
  }
}

bool Scanner::read_string(std::string& out) {
  out.clear();
  if (peek() != '"') return false;
  return scan_string(&out);
}

bool Scanner::read_number(Number& out) {
  skip_ws();
  return scan_number(&out);
}

bool Scanner::scan_literal(std::string_view word) noexcept {
  if (text_.substr(pos_, word.size()) != word) return false;
  pos_ += word.size();
  return true;
}

bool Scanner::read_hex4(std::uint32_t& out) noexcept {
  if (pos_ + 4 > text_.size()) return false;
  out = 0;
  for (int k = 0; k < 4; ++k) {
    const char c = text_[pos_++];
    out <<= 4;
    if (c >= '0' && c <= '9')
      out |= static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      out |= static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      out |= static_cast<std::uint32_t>(c - 'A' + 10);
    else
      return false;
  }
  return true;
}

// Cursor at the opening quote.
bool Scanner::scan_string(std::string* out) {
  ++pos_;
  for (;;) {
    // The common run: plain characters up to a quote, backslash, control or non-ASCII byte.
    const std::size_t run = pos_;
    pos_ += plain_run(text_.data() + pos_, text_.size() - pos_);
    if (out && pos_ > run) out->append(text_.substr(run, pos_ - run));
    if (pos_ >= text_.size()) return false;
    const auto c = static_cast<unsigned char>(text_[pos_]);
    if (c == '"') {
      ++pos_;
      return true;
    }
    if (c < 0x20) return false; // control characters must be escaped
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(text_, pos_);
      if (n == 0) return false;
      if (out) out->append(text_.substr(pos_, n));
      pos_ += n;
      continue;
    }
    // A backslash escape.
    if (++pos_ >= text_.size()) return false;
    const char e = text_[pos_++];
    char plain = 0;
    switch (e) {
    case '"': plain = '"'; break;
    case '\\': plain = '\\'; break;
    case '/': plain = '/'; break;
    case 'b': plain = '\b'; break;
    case 'f': plain = '\f'; break;
    case 'n': plain = '\n'; break;
    case 'r': plain = '\r'; break;
    case 't': plain = '\t'; break;
    case 'u': {
      std::uint32_t cp = 0;
      if (!read_hex4(cp)) return false;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return false; // a lone low surrogate
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        std::uint32_t low = 0;
        if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') return false;
        pos_ += 2;
        if (!read_hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      }
      if (out) append_utf8(*out, cp);
      continue;
    }
    default: return false;
    }
    if (out) *out += plain;
  }
}

bool Scanner::scan_number(Number* out) {
  const std::size_t start = pos_;
  bool negative = false, integral = true;
  if (pos_ < text_.size() && text_[pos_] == '-') {
    negative = true;
    ++pos_;
  }
  if (pos_ >= text_.size() || !is_digit(text_[pos_])) return false;
  if (text_[pos_] == '0') {
    ++pos_;
  } else {
    while (pos_ < text_.size() && is_digit(text_[pos_]))
      ++pos_;
  }
  if (pos_ < text_.size() && text_[pos_] == '.') {
    integral = false;
    ++pos_;
    if (pos_ >= text_.size() || !is_digit(text_[pos_])) return false;
    while (pos_ < text_.size() && is_digit(text_[pos_]))
      ++pos_;
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    integral = false;
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (pos_ >= text_.size() || !is_digit(text_[pos_])) return false;
    while (pos_ < text_.size() && is_digit(text_[pos_]))
      ++pos_;
  }
  if (!out) return true;
  const char* first = text_.data() + start;
  const char* last = text_.data() + pos_;
  // As nlohmann: integers are int64 when negative, uint64 otherwise, and a double when they do
  // not fit.
  if (integral) {
    if (negative) {
      if (std::from_chars(first, last, out->i).ec == std::errc{}) {
        out->kind = Number::Kind::Signed;
        return true;
      }
    } else if (std::from_chars(first, last, out->u).ec == std::errc{}) {
      out->kind = Number::Kind::Unsigned;
      return true;
    }
  }
  out->kind = Number::Kind::Float;
  const auto [end, ec] = std::from_chars(first, last, out->d);
  if (ec == std::errc::result_out_of_range) {
    // Overflow or underflow: take strtod's answer (±inf, or 0 / a denormal) as nlohmann does.
    out->d = std::strtod(std::string(first, last).c_str(), nullptr);
    return true;
  }
  return ec == std::errc{} && end == last;
}

std::optional<std::string> string_of(Span span) {
  Scanner s(span);
  std::string out;
  if (s.peek() != '"' || !s.read_string(out)) return std::nullopt;
  return out;
}

std::optional<Number> number_of(Span span) {
  Scanner s(span);
  const char c = s.peek();
  if (c != '-' && !is_digit(c)) return std::nullopt;
  Number n;
  if (!s.read_number(n)) return std::nullopt;
  return n;
}

bool is_valid(std::string_view text) noexcept {
  Scanner s(text);
  return s.skip_value() && s.at_end();
}

bool append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t mark = out.size();
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t run = i;
    i += plain_run(s.data() + i, s.size() - i);
    out.append(s.substr(run, i - run));
    if (i >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out.resize(mark);
        return false;
      }
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    ++i;
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  out += '"';
  return true;
}

void append_integer(std::string& out, std::int64_t value) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

} // namespace posthorn::signal::json
