// Fuzz target for the data-channel frame codec (spec/trystero-wire.md §7.1). Invariants, not just
// "no crash":
//   * decode_frame never reads out of bounds (ASan/UBSan in the libFuzzer build) and fails only
//     with the codec's own errors, all classified ProtocolViolation;
//   * a decoded room frame's views lie inside the input, and re-encoding the header followed by
//     the chunk reproduces the input exactly (the room frame has no redundant bytes);
//   * a decoded presence frame re-encodes to the input's prefix (up to the presence byte, which
//     JS reads as "== 1"), and that encoding decodes to an equal frame.
#include "room/errc.hpp"
#include "room/frame.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

bool inside(const void* p, std::size_t n, const std::uint8_t* data, std::size_t size) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  return n == 0 || (b >= data && b + n <= data + size);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace posthorn;
  using namespace posthorn::room;
  const ByteView input(data, size);
  auto decoded = decode_frame(input);
  if (!decoded) {
    const auto& ec = decoded.error();
    if (ec != Errc::FrameTooShort && ec != Errc::UnknownFrameType && ec != Errc::EmptyToken &&
        ec != Errc::TruncatedFrame)
      std::abort();
    if (ec != Condition::ProtocolViolation) std::abort();
    if (size >= 3 && data[0] != 1 && data[0] != 2 && ec != Errc::UnknownFrameType) std::abort();
    return 0;
  }
  if (const auto* room = std::get_if<RoomFrameView>(&*decoded)) {
    if (data[0] != kRoomFrameType || room->token.empty()) std::abort();
    if (!inside(room->token.data(), room->token.size(), data, size) ||
        !inside(room->chunk.data(), room->chunk.size(), data, size))
      std::abort();
    Bytes encoded;
    append_room_frame_header(encoded, room->token);
    encoded.insert(encoded.end(), room->chunk.begin(), room->chunk.end());
    if (encoded.size() != size || std::memcmp(encoded.data(), data, size) != 0) std::abort();
    return 0;
  }
  const auto& presence = std::get<PresenceFrameView>(*decoded);
  if (data[0] != kPresenceFrameType || presence.token.empty()) std::abort();
  if (!inside(presence.token.data(), presence.token.size(), data, size)) std::abort();
  if (presence.present != (data[1] == 1)) std::abort();
  const Bytes encoded = encode_presence_frame(presence.token, presence.present);
  if (encoded.size() > size || encoded[0] != data[0] ||
      std::memcmp(encoded.data() + 2, data + 2, encoded.size() - 2) != 0)
    std::abort();
  auto again = decode_frame(encoded);
  if (!again) std::abort();
  const auto* p2 = std::get_if<PresenceFrameView>(&*again);
  if (!p2 || p2->token != presence.token || p2->present != presence.present) std::abort();
  return 0;
}
