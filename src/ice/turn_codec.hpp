#pragma once
// TURN wire pieces on top of the STUN codec (RFC 8656): ChannelData framing (§12.4), the stream
// framer for TURN over TCP (§12.5), and the TURN- and long-term-credential-specific attributes
// (REQUESTED-TRANSPORT, CHANNEL-NUMBER, REQUESTED-ADDRESS-FAMILY, the RFC 8489 nonce cookie).
// Everything here is a pure function of its input; fuzz/turn_fuzz.cpp checks that the decoders are
// total and that encode/decode round-trip.

#include "core/bytes.hpp"
#include "core/socket_address.hpp"
#include "ice/stun_message.hpp"
#include <posthorn/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::ice {

/// TURN attribute types the STUN header does not name (RFC 8656 §18, RFC 8489 §18.3).
namespace turn_attr {
inline constexpr std::uint16_t kRequestedAddressFamily = 0x0017;
inline constexpr std::uint16_t kEvenPort = 0x0018;
inline constexpr std::uint16_t kReservationToken = 0x0022;
inline constexpr std::uint16_t kAdditionalAddressFamily = 0x8000;
inline constexpr std::uint16_t kAddressErrorCode = 0x8001;
inline constexpr std::uint16_t kIcmp = 0x8004;
} // namespace turn_attr

/// RFC 8656 §12: channel numbers 0x4000 through 0x4FFF; the rest of 0x4000-0x7FFF is reserved.
inline constexpr std::uint16_t kTurnMinChannel = 0x4000;
inline constexpr std::uint16_t kTurnMaxChannel = 0x4FFF;
inline constexpr std::size_t kChannelDataHeaderSize = 4;
/// REQUESTED-TRANSPORT protocol number for UDP relaying (RFC 8656 §18.7, IANA protocol 17).
inline constexpr std::uint8_t kTurnTransportUdp = 17;
/// The largest datagram the client relays: a Send indication to an IPv6 peer must stay within
/// the 65535-byte STUN limit (65535 - 20 header - 24 XOR-PEER-ADDRESS - 4 DATA header, rounded
/// down to the 4-byte attribute alignment).
inline constexpr std::size_t kTurnMaxPeerPayload = 65484;

constexpr bool is_valid_channel_number(std::uint16_t n) noexcept {
  return n >= kTurnMinChannel && n <= kTurnMaxChannel;
}

/// RFC 7983 §7 demultiplexing: a first byte of 64..79 is TURN ChannelData.
inline bool looks_like_channel_data(ByteView data) noexcept {
  return !data.empty() && data[0] >= 64 && data[0] <= 79;
}

struct ChannelDataView {
  std::uint16_t channel = 0;
  ByteView data;
};

/// Parses one ChannelData message from a datagram (or one stream frame). RFC 8656 §12.4-§12.5:
/// the length field counts the application data only; up to 3 bytes of padding may follow (they
/// must over TCP, they may over UDP) and are ignored. A channel number outside 0x4000-0x4FFF, a
/// length longer than the datagram, or more than 3 trailing bytes is MalformedChannelData.
result<ChannelDataView> decode_channel_data(ByteView data);

/// Encodes one ChannelData message; `pad` adds the zero padding to 4 bytes that TCP requires.
/// `data` must be at most 65535 bytes and `channel` a valid channel number (caller invariants).
Bytes encode_channel_data(std::uint16_t channel, ByteView data, bool pad);

/// Splits a TURN-over-TCP byte stream into STUN messages and ChannelData messages (RFC 8656
/// §12.5): the first two bits say which (00 STUN, 01 ChannelData), the length field how long.
/// Anything else means the stream lost framing; the connection then has to be dropped.
class TurnStreamFramer {
public:
  void push(ByteView bytes);
  /// The next complete frame, nullopt when more bytes are needed, or StreamDesynchronized (after
  /// which every call returns the same error).
  result<std::optional<Bytes>> next();
  /// Bytes held: at most one partial frame plus the last push.
  [[nodiscard]] std::size_t buffered() const noexcept { return buf_.size() - start_; }

private:
  Bytes buf_;
  std::size_t start_ = 0;
  bool broken_ = false;
};

// --- attribute helpers ---

/// REQUESTED-TRANSPORT (RFC 8656 §18.7): protocol number then 3 RFFU bytes.
void add_requested_transport(StunMessage& msg, std::uint8_t protocol);
/// CHANNEL-NUMBER (RFC 8656 §18.1): the number then 2 RFFU bytes.
void add_channel_number(StunMessage& msg, std::uint16_t channel);
std::optional<std::uint16_t> channel_number(const StunMessage& msg);
/// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.10): 0x01 IPv4, 0x02 IPv6, then 3 RFFU bytes.
void add_requested_address_family(StunMessage& msg, IpFamily family);

/// ALTERNATE-SERVER (RFC 8489 §14.15), a plain (non-XOR) address like MAPPED-ADDRESS.
std::optional<SocketAddress> alternate_server(const StunMessage& msg);

/// RFC 8489 §9.2: a NONCE starting with "obMatJos2" carries 24 bits of security features,
/// base64-encoded in the next 4 characters.
inline constexpr std::string_view kNonceCookie = "obMatJos2";
struct NonceFeatures {
  bool password_algorithms = false; // bit 0
  bool username_anonymity = false;  // bit 1
};
/// The features announced by `nonce`; nullopt when it does not start with the cookie or the
/// feature characters are not valid base64.
std::optional<NonceFeatures> parse_nonce_cookie(std::string_view nonce);

/// Remote text made safe for an error message or a log: printable ASCII only, at most `max`
/// characters (anything else is dropped).
std::string printable_text(std::string_view text, std::size_t max);

/// "401 Unauthorized" style text: the code, the standard phrase (RFC 8489 §14.8, RFC 8656 §19),
/// and the server's own reason phrase when it differs.
std::string describe_stun_error(const StunErrorCode& error);

/// Comprehension-required attributes of `msg` that neither the STUN codec nor TURN knows
/// (RFC 8489 §7.3.3: a response carrying one is discarded and the transaction fails).
std::vector<std::uint16_t> unknown_turn_attributes(const StunMessage& msg);

} // namespace posthorn::ice
