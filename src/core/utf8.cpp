#include "core/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace posthorn {

// RFC 3629 §4 (the table of well-formed byte sequences): each lead byte allows its second byte a
// narrower range where the code point would be overlong (E0, F0), a surrogate (ED) or beyond
// U+10FFFF (F4).
bool is_valid_utf8(ByteView bytes) noexcept {
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    // Eight ASCII bytes at a time: text on the wire is mostly ASCII (JSON, SDP, base64).
    while (n - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, bytes.data() + i, 8);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i == n) break;
    const std::uint8_t b = bytes[i];
    if (b <= 0x7F) {
      ++i;
      continue;
    }
    std::size_t needed = 0;
    std::uint8_t lower = 0x80;
    std::uint8_t upper = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      needed = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      needed = 2;
      if (b == 0xE0) lower = 0xA0;
      if (b == 0xED) upper = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      needed = 3;
      if (b == 0xF0) lower = 0x90;
      if (b == 0xF4) upper = 0x8F;
    } else {
      return false;
    }
    if (n - i - 1 < needed) return false;
    if (bytes[i + 1] < lower || bytes[i + 1] > upper) return false;
    for (std::size_t k = 2; k <= needed; ++k)
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) return false;
    i += needed + 1;
  }
  return true;
}

} // namespace posthorn
