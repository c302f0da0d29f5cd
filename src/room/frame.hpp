#pragma once
// Data-channel frames (spec/trystero-wire.md §7.1). Trystero 0.25.4 shares one data channel
// between every room of an app and tells rooms apart by a token in front of each message:
//
//   Room frame:     0x01 | tokenLen:u16 | token | action chunk (§8)
//   Presence frame: 0x02 | present:u8 | tokenLen:u16 | token
//
// The token is hex(SHA-256("Trystero:" + appId + ":" + roomId)) (§2.3), so tokenLen is 64 in
// practice; the codec accepts any non-empty token, as JS does. Pure functions, no state.

#include "core/bytes.hpp"

#include <posthorn/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

namespace posthorn::room {

inline constexpr std::uint8_t kRoomFrameType = 0x01;
inline constexpr std::uint8_t kPresenceFrameType = 0x02;
/// 1 type byte + 2 length bytes; with the usual 64-byte token a room frame costs 67 bytes.
inline constexpr std::size_t kRoomFrameHeaderBase = 3;

/// A room frame, as views into the decoded message.
struct RoomFrameView {
  std::string_view token; ///< raw token bytes (JS decodes them as UTF-8; tokens are ASCII hex)
  ByteView chunk;         ///< the action chunk that follows the token (may be empty)
};

/// A presence frame: the sender joined (present) or left the room with this token (§7.2).
struct PresenceFrameView {
  std::string_view token;
  bool present;
};

using FrameView = std::variant<RoomFrameView, PresenceFrameView>;

/// `0x02 | present | tokenLen | token`. The token must be 1..65535 bytes (caller's invariant).
Bytes encode_presence_frame(std::string_view token, bool present);

/// Appends `0x01 | tokenLen | token` to `out`; the caller appends the chunk right after it, so a
/// framed chunk is written into one buffer without an intermediate copy.
void append_room_frame_header(Bytes& out, std::string_view token);

/// Decodes one data-channel message. The views point into `message`. Drop rules of §7.1, each an
/// Errc: fewer than 3 bytes (FrameTooShort), a first byte other than 1 or 2 (UnknownFrameType),
/// tokenLen 0 (EmptyToken), a token past the end (TruncatedFrame). As in JS, a presence byte other
/// than 1 means "not present" and bytes after a presence frame's token are ignored.
result<FrameView> decode_frame(ByteView message);

} // namespace posthorn::room
