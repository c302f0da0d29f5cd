#include "room/frame.hpp"

#include "core/assert.hpp"
#include "room/errc.hpp"

#include <limits>

namespace posthorn::room {
namespace {

void append_token(Bytes& out, std::string_view token) {
  POSTHORN_ASSERT(!token.empty() && token.size() <= std::numeric_limits<std::uint16_t>::max(),
                  "a room token is 1..65535 bytes (in practice 64 hex characters)");
  out.push_back(static_cast<std::uint8_t>(token.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(token.size()));
  const auto bytes = as_bytes(token);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

std::string_view token_view(ByteView bytes) {
  return as_string_view(bytes);
}

} // namespace

Bytes encode_presence_frame(std::string_view token, bool present) {
  Bytes out;
  out.reserve(4 + token.size());
  out.push_back(kPresenceFrameType);
  out.push_back(present ? 1 : 0);
  append_token(out, token);
  return out;
}

void append_room_frame_header(Bytes& out, std::string_view token) {
  out.push_back(kRoomFrameType);
  append_token(out, token);
}

result<FrameView> decode_frame(ByteView message) {
  // §7.1: JS checks the length before it looks at the type byte.
  if (message.size() < kRoomFrameHeaderBase) return make_error_code(Errc::FrameTooShort);
  ByteReader reader(message);
  const std::uint8_t type = *reader.u8();
  if (type == kRoomFrameType) {
    const std::uint16_t length = *reader.u16();
    if (length == 0) return make_error_code(Errc::EmptyToken);
    auto token = reader.bytes(length);
    if (!token) return make_error_code(Errc::TruncatedFrame);
    return FrameView{RoomFrameView{token_view(*token), reader.rest()}};
  }
  if (type != kPresenceFrameType) return make_error_code(Errc::UnknownFrameType);
  const std::uint8_t present = *reader.u8();
  auto length = reader.u16();
  if (!length) return make_error_code(Errc::TruncatedFrame);
  if (*length == 0) return make_error_code(Errc::EmptyToken);
  auto token = reader.bytes(*length);
  if (!token) return make_error_code(Errc::TruncatedFrame);
  return FrameView{PresenceFrameView{token_view(*token), present == 1}};
}

} // namespace posthorn::room
