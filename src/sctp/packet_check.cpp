#include "sctp/packet_check.hpp"

#include <cstdint>

namespace posthorn::sctp {
namespace {

// RFC 9260 §3.2 chunk types (and RFC 5061 ASCONF, RFC 6525 RE-CONFIG) whose value is, after a
// fixed prefix, a list of TLVs with a 4-byte type/length header.
constexpr std::uint8_t kInit = 1;
constexpr std::uint8_t kInitAck = 2;
constexpr std::uint8_t kHeartbeat = 4;
constexpr std::uint8_t kHeartbeatAck = 5;
constexpr std::uint8_t kAbort = 6;
constexpr std::uint8_t kError = 9;
constexpr std::uint8_t kAsconfAck = 0x80;
constexpr std::uint8_t kReconfig = 130;
constexpr std::uint8_t kAsconf = 0xc1;

constexpr std::size_t kCommonHeader = 12;
constexpr std::size_t kTlvHeader = 4;

constexpr std::size_t padded(std::size_t n) noexcept {
  return (n + 3) & ~std::size_t{3};
}

std::uint16_t u16_at(ByteView b, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

/// Bytes before the TLV list inside a chunk's value, or -1 if the chunk carries no TLV list.
int tlv_prefix(std::uint8_t type) noexcept {
  switch (type) {
  case kInit:
  case kInitAck: return 16; // initiate tag, a_rwnd, streams out/in, initial TSN
  case kHeartbeat:
  case kHeartbeatAck:
  case kAbort:
  case kError:
  case kReconfig: return 0;
  case kAsconf:
  case kAsconfAck: return 4; // serial number
  default: return -1;
  }
}

/// Each TLV in [begin, end) has length >= 4 and ends inside the range. The padding after the
/// last TLV may be missing (RFC 9260 §3.2: the chunk length excludes the last one's padding).
bool tlvs_ok(ByteView b, std::size_t begin, std::size_t end) noexcept {
  std::size_t at = begin;
  while (at + kTlvHeader <= end) {
    const std::size_t length = u16_at(b, at + 2);
    if (length < kTlvHeader || length > end - at) return false;
    at += padded(length);
  }
  return true; // fewer than 4 bytes left: padding, which parsers stop at
}

} // namespace

bool is_well_formed_packet(ByteView b) noexcept {
  if (b.size() < kCommonHeader + kTlvHeader) return false;
  std::size_t at = kCommonHeader;
  while (at + kTlvHeader <= b.size()) {
    const std::uint8_t type = b[at];
    const std::size_t length = u16_at(b, at + 2);
    if (length < kTlvHeader || length > b.size() - at) return false;
    if (const int prefix = tlv_prefix(type); prefix >= 0) {
      const std::size_t tlv_begin = at + kTlvHeader + static_cast<std::size_t>(prefix);
      if (tlv_begin > at + length) return false;
      // usrsctp walks INIT and INIT ACK parameters to the end of the packet, not of the chunk
      // (RFC 9260 §6.10 forbids bundling anything with them), so check that whole range.
      const bool to_packet_end = type == kInit || type == kInitAck;
      if (!tlvs_ok(b, tlv_begin, to_packet_end ? b.size() : at + length)) return false;
    }
    at += padded(length);
  }
  return true;
}

} // namespace posthorn::sctp
