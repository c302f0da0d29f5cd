#pragma once
// UTF-8 decoding exactly as the receiving JS peer does it: `new TextDecoder().decode(bytes)`
// (WHATWG Encoding §8.1.1). Invalid sequences become U+FFFD using the "maximal subpart" rule, an
// incomplete sequence at the end becomes one U+FFFD, and a leading byte-order mark is removed.
// Trystero decodes action types (§8.5.2), string payloads and JSON text this way (§8.5.5), so
// posthorn must produce the same text from the same bytes.

#include "core/bytes.hpp"
#include "core/utf8.hpp"

#include <cstdint>
#include <string>

namespace posthorn::room {

/// `bytes` decoded as TextDecoder does: leading BOM stripped, invalid bytes become U+FFFD. The
/// result is always valid UTF-8.
std::string decode_utf8_lossy(ByteView bytes);

using posthorn::is_valid_utf8; // core/utf8.hpp

/// Incremental decoder for text that arrives in pieces (streamed chunks): a multi-byte character
/// may straddle two pieces, so up to 3 bytes of an unfinished sequence are carried over.
/// feed(a); feed(b); finish() appends exactly what decode_utf8_lossy(a + b) returns.
class Utf8Decoder {
public:
  /// strip_bom: drop a U+FEFF that is the very first character (TextDecoder's default).
  explicit Utf8Decoder(bool strip_bom = true) noexcept : bom_pending_(strip_bom) {}

  void feed(ByteView bytes, Bytes& out);
  /// End of input: an unfinished sequence becomes one U+FFFD. The decoder can then be reused.
  void finish(Bytes& out);

private:
  void emit(std::uint32_t code_point, Bytes& out);
  void reset_sequence() noexcept;

  std::uint32_t code_point_ = 0;
  std::uint8_t needed_ = 0;
  std::uint8_t seen_ = 0;
  std::uint8_t lower_ = 0x80;
  std::uint8_t upper_ = 0xBF;
  bool bom_pending_;
};

} // namespace posthorn::room
