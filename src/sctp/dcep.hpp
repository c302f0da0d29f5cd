#pragma once
// DCEP, the WebRTC Data Channel Establishment Protocol (RFC 8832), and the SCTP payload protocol
// identifiers of WebRTC data channels (RFC 8831 §8). Pure codec, no state.
//
// Wire format of DATA_CHANNEL_OPEN (RFC 8832 §5.1), all integers big-endian:
//
//    0                   1                   2                   3
//   +---------------+---------------+-------------------------------+
//   | Type = 0x03   | Channel Type  |           Priority            |
//   +---------------+---------------+-------------------------------+
//   |                    Reliability Parameter                      |
//   +-------------------------------+-------------------------------+
//   |         Label Length          |       Protocol Length         |
//   +-------------------------------+-------------------------------+
//   |  Label (Label Length bytes, no padding) ...                   |
//   |  Protocol (Protocol Length bytes, no padding) ...             |
//
// DATA_CHANNEL_ACK (RFC 8832 §5.2) is the single byte 0x02.
//
// Parsing is lenient about trailing bytes after the last field (RFC 8832 does not forbid them and
// rejecting them gains nothing); every length is checked against the buffer.

#include "core/bytes.hpp"
#include "sctp/error.hpp"

#include <cstdint>
#include <string>
#include <variant>

namespace posthorn::sctp {

/// SCTP Payload Protocol Identifiers of RFC 8831 §8 (IANA "WebRTC" PPIDs).
enum class Ppid : std::uint32_t {
  Dcep = 50,
  String = 51,
  BinaryPartial = 52, // deprecated (RFC 8831 §6.6): received for compatibility, never sent
  Binary = 53,
  StringPartial = 54, // deprecated, as above
  StringEmpty = 56,   // an empty string; the SCTP user message is one ignored byte
  BinaryEmpty = 57,   // an empty binary message, likewise
};

/// The PPID for an application message of this kind and size (RFC 8831 §6.6: SCTP cannot carry
/// empty user messages, so an empty message is one byte with an *Empty* PPID).
constexpr Ppid ppid_for(bool binary, std::size_t size) noexcept {
  if (binary) return size == 0 ? Ppid::BinaryEmpty : Ppid::Binary;
  return size == 0 ? Ppid::StringEmpty : Ppid::String;
}

/// RFC 8832 §5.1 channel types: bit 0x80 means unordered, the low bits select the reliability.
enum class ChannelType : std::uint8_t {
  Reliable = 0x00,
  ReliableUnordered = 0x80,
  PartialReliableRexmit = 0x01,
  PartialReliableRexmitUnordered = 0x81,
  PartialReliableTimed = 0x02,
  PartialReliableTimedUnordered = 0x82,
};

constexpr bool is_ordered(ChannelType t) noexcept {
  return (static_cast<std::uint8_t>(t) & 0x80) == 0;
}
constexpr bool is_rexmit(ChannelType t) noexcept {
  return (static_cast<std::uint8_t>(t) & 0x7f) == 0x01;
}
constexpr bool is_timed(ChannelType t) noexcept {
  return (static_cast<std::uint8_t>(t) & 0x7f) == 0x02;
}

/// RFC 8831 §6.4 / W3C RTCPriorityType values carried in the Priority field.
namespace priority {
inline constexpr std::uint16_t kBelowNormal = 128;
inline constexpr std::uint16_t kNormal = 256;
inline constexpr std::uint16_t kHigh = 512;
inline constexpr std::uint16_t kExtraHigh = 1024;
} // namespace priority

struct DataChannelOpen {
  ChannelType channel_type = ChannelType::Reliable;
  std::uint16_t priority = priority::kNormal;
  /// Retransmissions for *Rexmit, lifetime in ms for *Timed, ignored (sent as 0) otherwise.
  std::uint32_t reliability_parameter = 0;
  std::string label;    // UTF-8 per RFC 8832, kept as received; at most 65535 bytes
  std::string protocol; // likewise

  bool operator==(const DataChannelOpen&) const = default;
};

struct DataChannelAck {
  bool operator==(const DataChannelAck&) const = default;
};

using DcepMessage = std::variant<DataChannelOpen, DataChannelAck>;

inline constexpr std::uint8_t kDcepOpen = 0x03;
inline constexpr std::uint8_t kDcepAck = 0x02;
inline constexpr std::size_t kDcepOpenHeaderSize = 12;

/// Parses one DCEP message (the whole payload of an SCTP message with PPID 50).
result<DcepMessage> parse_dcep(ByteView data);

/// Encodes a message. Label and protocol must be at most 65535 bytes each (asserted: callers
/// validate user input, and anything parse_dcep returned already fits).
Bytes encode(const DataChannelOpen& open);
Bytes encode(const DataChannelAck& ack);
Bytes encode(const DcepMessage& message);

} // namespace posthorn::sctp
