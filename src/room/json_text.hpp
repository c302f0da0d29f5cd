#pragma once
// The little JSON the room layer needs, with JSON.parse/JSON.stringify semantics (ECMA-262
// §25.5): validating JSON payloads and metadata, reading the top-level members of an object
// (envelopes §11, password handshake §10) and quoting strings. Members keep the raw text of
// their value, so user metadata inside a request envelope is passed on byte for byte instead of
// being re-serialized.
//
// The scanner is iterative (an explicit stack), so deeply nested input from a remote peer cannot
// overflow the call stack; its memory is bounded by the input size.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::room::detail {

/// True if JSON.parse(text) would succeed: one value with optional JSON whitespace (tab, LF, CR,
/// space) around it. Like JSON.parse, lone surrogate escapes (\ud800) are accepted.
bool is_valid_json(std::string_view text);

struct JsonMember {
  std::string key;        ///< decoded
  std::string_view value; ///< raw JSON text of the value, without surrounding whitespace
};

/// The members of `text` if it is a JSON object (nullopt for any other value or invalid JSON),
/// in order. Duplicate keys are all listed; find_member returns the last, as JSON.parse keeps it.
std::optional<std::vector<JsonMember>> parse_json_object(std::string_view text);

const JsonMember* find_member(const std::vector<JsonMember>& members, std::string_view key);

/// The decoded UTF-8 of a raw JSON string token (including its quotes); nullopt if `raw` is not
/// a string. A lone surrogate escape becomes U+FFFD, as TextEncoder would encode it.
std::optional<std::string> json_string_value(std::string_view raw);

/// JSON.stringify(s) for a UTF-8 string: quotes, \" \\ \b \f \n \r \t, other control characters
/// as \u00xx, everything else raw. Invalid UTF-8 in `s` becomes U+FFFD first.
std::string json_quote(std::string_view s);

} // namespace posthorn::room::detail
