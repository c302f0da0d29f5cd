#pragma once
// Whether bytes are well-formed UTF-8 (RFC 3629 §4): no overlong forms, no surrogates, nothing
// above U+10FFFF, no truncated sequence at the end. Shared by the room protocol (action names,
// text payloads) and WebSocket text messages (RFC 6455 §8.1).

#include "core/bytes.hpp"

#include <string_view>

namespace posthorn {

/// True if `bytes` is well-formed UTF-8. Runs of ASCII are checked eight bytes at a time.
bool is_valid_utf8(ByteView bytes) noexcept;

inline bool is_valid_utf8(std::string_view text) noexcept {
  return is_valid_utf8(as_bytes(text));
}

} // namespace posthorn
