#pragma once
// A strict, allocation-light JSON (RFC 8259) scanner and string writer for the hot paths of
// `posthorn relay`, where a DOM per message (nlohmann) cost more than everything else the relay
// does (docs/benchmarks.md). It accepts exactly what nlohmann::json::parse accepts — the
// differential fuzz target fuzz/tracker_codec_fuzz.cpp holds it to that — and writes strings
// exactly as nlohmann's dump() does (ensure_ascii off).
//
// Scanning validates as it goes (grammar, UTF-8 well-formedness per Unicode Table 3-7, escapes
// and surrogate pairs, nesting depth) and hands out spans of the input; a string is decoded
// (escapes resolved) only when asked for.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posthorn::signal::json {

/// Deeper documents are refused (nlohmann has no limit, but recursion must be bounded here).
inline constexpr int kMaxDepth = 64;

struct Number {
  enum class Kind : std::uint8_t { Signed, Unsigned, Float } kind = Kind::Float;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;
};

class Scanner {
public:
  explicit Scanner(std::string_view text) noexcept : text_(text) {}

  void skip_ws() noexcept;
  /// The next non-space character, or '\0' at the end.
  [[nodiscard]] char peek() noexcept;
  /// Consumes `c` (after spaces) if it is next.
  bool consume(char c) noexcept;
  [[nodiscard]] bool at_end() noexcept; ///< only spaces remain (or a NUL: nlohmann stops there)
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }

  /// Validates and skips one value; false if it is not valid JSON.
  [[nodiscard]] bool skip_value(int depth = 0) noexcept;
  /// A string token: validated, escapes resolved into `out`.
  [[nodiscard]] bool read_string(std::string& out);
  /// A number token.
  [[nodiscard]] bool read_number(Number& out);

private:
  [[nodiscard]] bool scan_string(std::string* out);
  [[nodiscard]] bool scan_number(Number* out);
  [[nodiscard]] bool scan_literal(std::string_view word) noexcept;
  [[nodiscard]] bool read_hex4(std::uint32_t& out) noexcept;

  std::string_view text_;
  std::size_t pos_ = 0;
};

/// The value of one member of a JSON object: its span in the text (already validated).
using Span = std::string_view;

/// Calls `on_member(key, value_span)` for each member of the object in `object_span` (which must
/// be a valid JSON object); false if it is not an object.
template <class F> bool for_each_member(Span object_span, F&& on_member) {
  Scanner s(object_span);
  if (!s.consume('{')) return false;
  if (s.consume('}')) return true;
  std::string key;
  do {
    if (s.peek() != '"' || !s.read_string(key) || !s.consume(':')) return false;
    s.skip_ws();
    const std::size_t start = s.pos();
    if (!s.skip_value()) return false;
    on_member(std::string_view(key), object_span.substr(start, s.pos() - start));
  } while (s.consume(','));
  return s.consume('}');
}

/// Calls `on_element(span)` for each element of the array in `array_span`; false if it is not
/// an array.
template <class F> bool for_each_element(Span array_span, F&& on_element) {
  Scanner s(array_span);
  if (!s.consume('[')) return false;
  if (s.consume(']')) return true;
  do {
    s.skip_ws();
    const std::size_t start = s.pos();
    if (!s.skip_value()) return false;
    on_element(array_span.substr(start, s.pos() - start));
  } while (s.consume(','));
  return s.consume(']');
}

/// The decoded string a span holds, or nullopt if it is not a string.
[[nodiscard]] std::optional<std::string> string_of(Span span);
/// The number a span holds, or nullopt if it is not a number.
[[nodiscard]] std::optional<Number> number_of(Span span);
/// Whether the whole text is one valid JSON value (surrounding spaces allowed).
[[nodiscard]] bool is_valid(std::string_view text) noexcept;

/// Appends `s` as a JSON string literal, escaped as nlohmann's dump() does. False (and nothing
/// appended) if `s` is not valid UTF-8.
[[nodiscard]] bool append_string(std::string& out, std::string_view s);
void append_integer(std::string& out, std::int64_t value);

} // namespace posthorn::signal::json
