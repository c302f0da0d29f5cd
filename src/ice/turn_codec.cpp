#include "ice/turn_codec.hpp"

#include "core/crypto.hpp"
#include "ice/turn_errc.hpp"

#include <algorithm>
#include <array>

namespace posthorn::ice {
namespace {

std::size_t padded(std::size_t n) noexcept {
  return (n + 3) & ~std::size_t{3};
}

posthorn::error_code malformed_channel_data() {
  return TurnErrc::MalformedChannelData;
}

// RFC 8489 §14.8 and RFC 8656 §19 reason phrases.
std::string_view standard_phrase(std::uint16_t code) noexcept {
  switch (code) {
  case 300: return "Try Alternate";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 405: return "Mobility Forbidden";
  case 420: return "Unknown Attribute";
  case 437: return "Allocation Mismatch";
  case 438: return "Stale Nonce";
  case 440: return "Address Family not Supported";
  case 441: return "Wrong Credentials";
  case 442: return "Unsupported Transport Protocol";
  case 443: return "Peer Address Family Mismatch";
  case 486: return "Allocation Quota Reached";
  case 487: return "Role Conflict";
  case 500: return "Server Error";
  case 508: return "Insufficient Capacity";
  default: return "Error";
  }
}

bool iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

} // namespace

result<ChannelDataView> decode_channel_data(ByteView data) {
  ByteReader r(data);
  auto channel = r.u16();
  auto length = r.u16();
  if (!channel || !length || !is_valid_channel_number(*channel)) return malformed_channel_data();
  auto payload = r.bytes(*length);
  // RFC 8656 §12.5: padding (at most 3 bytes) may follow over UDP and must over TCP.
  if (!payload || r.remaining() > 3) return malformed_channel_data();
  return ChannelDataView{*channel, *payload};
}

Bytes encode_channel_data(std::uint16_t channel, ByteView data, bool pad) {
  ByteWriter w;
  w.u16(channel);
  w.u16(static_cast<std::uint16_t>(data.size()));
  w.bytes(data);
  if (pad) w.zeros(padded(data.size()) - data.size());
  return std::move(w).take();
}

void TurnStreamFramer::push(ByteView bytes) {
  if (broken_) return;
  // Compact before growing so the buffer holds at most one partial frame plus this push.
  if (start_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
}

result<std::optional<Bytes>> TurnStreamFramer::next() {
  if (broken_) return posthorn::error_code(TurnErrc::StreamDesynchronized);
  const std::size_t available = buf_.size() - start_;
  if (available < 4) return std::optional<Bytes>{};
  const std::uint8_t* p = buf_.data() + start_;
  const std::size_t length = (std::size_t{p[2]} << 8) | p[3];
  std::size_t frame = 0;
  switch (p[0] >> 6) {
  case 0: // STUN: 20-byte header plus the length field (RFC 8489 §5)
    frame = kStunHeaderSize + length;
    break;
  case 1: // ChannelData, padded to 4 bytes over streams (RFC 8656 §12.5)
    frame = kChannelDataHeaderSize + padded(length);
    break;
  default:
    broken_ = true;
    buf_.clear();
    start_ = 0;
    return posthorn::error_code(TurnErrc::StreamDesynchronized);
  }
  if (available < frame) return std::optional<Bytes>{};
  Bytes out(p, p + frame);
  start_ += frame;
  if (start_ == buf_.size()) {
    buf_.clear();
    start_ = 0;
  }
  return std::optional<Bytes>{std::move(out)};
}

void add_requested_transport(StunMessage& msg, std::uint8_t protocol) {
  const std::uint8_t value[4] = {protocol, 0, 0, 0};
  msg.add(stun_attr::kRequestedTransport, value);
}

void add_channel_number(StunMessage& msg, std::uint16_t channel) {
  const std::uint8_t value[4] = {static_cast<std::uint8_t>(channel >> 8),
                                 static_cast<std::uint8_t>(channel), 0, 0};
  msg.add(stun_attr::kChannelNumber, value);
}

std::optional<std::uint16_t> channel_number(const StunMessage& msg) {
  const auto* a = msg.find(stun_attr::kChannelNumber);
  if (!a || a->value.size() != 4) return std::nullopt;
  return static_cast<std::uint16_t>((a->value[0] << 8) | a->value[1]);
}

void add_requested_address_family(StunMessage& msg, IpFamily family) {
  const std::uint8_t value[4] = {static_cast<std::uint8_t>(family == IpFamily::V4 ? 0x01 : 0x02), 0,
                                 0, 0};
  msg.add(turn_attr::kRequestedAddressFamily, value);
}

std::optional<SocketAddress> alternate_server(const StunMessage& msg) {
  const auto* a = msg.find(stun_attr::kAlternateServer);
  if (!a) return std::nullopt;
  ByteReader r(a->value);
  r.skip(1);
  auto family = r.u8();
  auto port = r.u16();
  if (!family || !port) return std::nullopt;
  if (*family == 0x01 && r.remaining() == 4) {
    auto b = *r.bytes(4);
    return SocketAddress(IpAddress::v4({b[0], b[1], b[2], b[3]}), *port);
  }
  if (*family == 0x02 && r.remaining() == 16) {
    std::array<std::uint8_t, 16> ip{};
    std::copy_n(r.bytes(16)->begin(), 16, ip.begin());
    return SocketAddress(IpAddress::v6(ip), *port);
  }
  return std::nullopt;
}

std::optional<NonceFeatures> parse_nonce_cookie(std::string_view nonce) {
  if (!nonce.starts_with(kNonceCookie) || nonce.size() < kNonceCookie.size() + 4)
    return std::nullopt;
  auto bits = crypto::base64_decode(nonce.substr(kNonceCookie.size(), 4));
  if (!bits || bits->size() != 3) return std::nullopt;
  // Bit 0 is the most significant bit of the 24 (network order, RFC 8489 §9.2).
  return NonceFeatures{((*bits)[0] & 0x80) != 0, ((*bits)[0] & 0x40) != 0};
}

std::string printable_text(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text) {
    if (out.size() == max) break;
    if (c >= 0x20 && c < 0x7F) out.push_back(c);
  }
  return out;
}

std::string describe_stun_error(const StunErrorCode& error) {
  std::string out = std::to_string(error.code);
  out += ' ';
  out += standard_phrase(error.code);
  // The server's reason phrase is remote text (RFC 8489 §14.8 limits it to 128 characters).
  const std::string reason = printable_text(error.reason, 128);
  if (!reason.empty() && !iequal(reason, standard_phrase(error.code)))
    out += " (server says \"" + reason + "\")";
  return out;
}

std::vector<std::uint16_t> unknown_turn_attributes(const StunMessage& msg) {
  auto unknown = msg.unknown_required_attributes();
  std::erase_if(unknown, [](std::uint16_t t) {
    return t == turn_attr::kRequestedAddressFamily || t == turn_attr::kEvenPort ||
           t == turn_attr::kReservationToken;
  });
  return unknown;
}

} // namespace posthorn::ice
