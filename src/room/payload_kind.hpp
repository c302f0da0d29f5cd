#pragma once
// The payload kind of an action message and its tag bits (spec/trystero-wire.md §8.1–§8.2).
//
// Trystero round-trips the JS type of what was sent: a string arrives as a string, any other JSON
// value as that value, an ArrayBuffer/typed array/Blob as bytes. The kind describes the whole
// message and is repeated in the tag byte of every chunk, the metadata chunk included.

#include <cstdint>

namespace posthorn::room {

/// Same enumerators and values as the public posthorn::PayloadKind, so the two convert with a
/// static_cast.
enum class PayloadKind : std::uint8_t { Text, Json, Binary };

/// Tag byte bits (§8.1).
inline constexpr std::uint8_t kTagLast = 0x01;     // bit0: last chunk of the message
inline constexpr std::uint8_t kTagMetadata = 0x02; // bit1: this chunk carries the metadata JSON
inline constexpr std::uint8_t kTagBinary = 0x04;   // bit2: binary payload (always with bit3)
inline constexpr std::uint8_t kTagJson = 0x08;     // bit3: JSON payload

/// The kind bits of a tag byte. Binary sets bit2 AND bit3: JS computes
/// `isJson = typeof data !== "string"`, which is also true for an ArrayBuffer (§8.2, TV11 `0d`).
constexpr std::uint8_t kind_tag_bits(PayloadKind kind) noexcept {
  switch (kind) {
  case PayloadKind::Text: return 0;
  case PayloadKind::Json: return kTagJson;
  case PayloadKind::Binary: return kTagBinary | kTagJson;
  }
  return 0;
}

/// The kind a tag byte announces. bit2 is tested before bit3 (§8.2): a binary chunk also has the
/// JSON bit. Bits 4–7 are ignored, as JS does.
constexpr PayloadKind kind_from_tag(std::uint8_t tag) noexcept {
  if (tag & kTagBinary) return PayloadKind::Binary;
  if (tag & kTagJson) return PayloadKind::Json;
  return PayloadKind::Text;
}

} // namespace posthorn::room
