#include "ice/stun_message.hpp"

#include "core/crypto.hpp"
#include "ice/errc.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace posthorn::ice {
namespace {

// RFC 8489 §14.7: the CRC is XORed with this to keep it distinct from other protocols' CRCs.
constexpr std::uint32_t kFingerprintXor = 0x5354554e;
constexpr std::size_t kIntegrityAttrSize = 4 + 20;
constexpr std::size_t kFingerprintAttrSize = 4 + 4;

// RFC 8489 §5: the 2 class bits are interleaved into the 12 method bits.
std::uint16_t encode_type(StunClass cls, std::uint16_t method) noexcept {
  const auto c = static_cast<std::uint16_t>(cls);
  return static_cast<std::uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) |
                                    ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
}

std::size_t padded(std::size_t n) noexcept {
  return (n + 3) & ~std::size_t{3};
}

void write_header(ByteWriter& w, StunClass cls, std::uint16_t method, std::uint16_t length,
                  const TransactionId& id) {
  w.u16(encode_type(cls, method));
  w.u16(length);
  w.u32(kStunMagicCookie);
  w.bytes(id);
}

void write_attribute(ByteWriter& w, std::uint16_t type, ByteView value) {
  w.u16(type);
  w.u16(static_cast<std::uint16_t>(value.size()));
  w.bytes(value);
  w.zeros(padded(value.size()) - value.size());
}

posthorn::error_code malformed() {
  return Errc::MalformedStun;
}

} // namespace

bool looks_like_stun(ByteView data) noexcept {
  if (data.size() < kStunHeaderSize || (data[0] & 0xC0) != 0) return false;
  const std::size_t length = (std::size_t{data[2]} << 8) | data[3];
  const std::uint32_t cookie = (std::uint32_t{data[4]} << 24) | (std::uint32_t{data[5]} << 16) |
                               (std::uint32_t{data[6]} << 8) | data[7];
  return cookie == kStunMagicCookie && length % 4 == 0 && kStunHeaderSize + length == data.size();
}

result<StunMessage> StunMessage::decode(ByteView data) {
  if (data.size() > kStunMaxMessageSize || !looks_like_stun(data)) return malformed();
  ByteReader r(data);
  const std::uint16_t type = *r.u16();
  r.skip(6); // length (validated by looks_like_stun) and cookie
  TransactionId id;
  std::copy_n(r.bytes(12)->begin(), 12, id.begin());

  const auto cls = static_cast<StunClass>(((type >> 4) & 1) | ((type >> 7) & 2));
  const auto method =
      static_cast<std::uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  StunMessage msg(cls, StunMethod::Binding, id);
  msg.method_ = method;

  bool after_integrity = false;
  while (r.remaining() > 0) {
    const std::size_t offset = r.position();
    auto attr_type = r.u16();
    auto attr_len = r.u16();
    if (!attr_type || !attr_len) return malformed();
    auto value = r.bytes(*attr_len);
    if (!value || !r.skip(padded(*attr_len) - *attr_len)) return malformed();
    if (msg.has_fingerprint_) return malformed(); // FINGERPRINT must be the last attribute

    if (*attr_type == stun_attr::kFingerprint) {
      if (*attr_len != 4) return malformed();
      // The CRC covers everything before this attribute, with the length field as sent (which
      // already includes the FINGERPRINT attribute, since it must be last).
      const std::uint32_t expected = crypto::crc32(data.first(offset)) ^ kFingerprintXor;
      const std::uint32_t got = (std::uint32_t{(*value)[0]} << 24) |
                                (std::uint32_t{(*value)[1]} << 16) |
                                (std::uint32_t{(*value)[2]} << 8) | (*value)[3];
      if (expected != got) return posthorn::error_code(Errc::BadFingerprint);
      msg.has_fingerprint_ = true;
      continue;
    }
    if (after_integrity) continue; // RFC 8489 §14.5: ignore everything but FINGERPRINT after MI
    if (*attr_type == stun_attr::kMessageIntegrity) {
      if (*attr_len != 20) return malformed();
      msg.integrity_offset_ = offset;
      after_integrity = true;
    }
    msg.attrs_.push_back({*attr_type, Bytes(value->begin(), value->end())});
  }
  if (msg.integrity_offset_) msg.raw_.assign(data.begin(), data.end());
  return msg;
}

Bytes StunMessage::encode(std::optional<ByteView> integrity_key, bool fingerprint) const {
  std::size_t body = 0;
  for (const auto& a : attrs_) {
    if (a.type == stun_attr::kMessageIntegrity || a.type == stun_attr::kFingerprint) continue;
    body += 4 + padded(a.value.size());
  }
  const std::size_t total_body =
      body + (integrity_key ? kIntegrityAttrSize : 0) + (fingerprint ? kFingerprintAttrSize : 0);

  ByteWriter w;
  write_header(w, cls_, method_, static_cast<std::uint16_t>(body), transaction_id_);
  for (const auto& a : attrs_) {
    if (a.type == stun_attr::kMessageIntegrity || a.type == stun_attr::kFingerprint) continue;
    write_attribute(w, a.type, a.value);
  }
  if (integrity_key) {
    // RFC 8489 §14.5: the length field counts up to and including MESSAGE-INTEGRITY.
    w.patch_u16(2, static_cast<std::uint16_t>(body + kIntegrityAttrSize));
    auto mac = crypto::hmac_sha1(*integrity_key, w.view());
    write_attribute(w, stun_attr::kMessageIntegrity, mac);
  }
  if (fingerprint) {
    w.patch_u16(2, static_cast<std::uint16_t>(total_body));
    const std::uint32_t crc = crypto::crc32(w.view()) ^ kFingerprintXor;
    ByteWriter v;
    v.u32(crc);
    write_attribute(w, stun_attr::kFingerprint, v.view());
  }
  w.patch_u16(2, static_cast<std::uint16_t>(total_body));
  return std::move(w).take();
}

bool StunMessage::check_integrity(ByteView key) const {
  if (!integrity_offset_) return false;
  const std::size_t offset = *integrity_offset_;
  Bytes covered(raw_.begin(), raw_.begin() + static_cast<std::ptrdiff_t>(offset));
  const std::size_t length = offset - kStunHeaderSize + kIntegrityAttrSize;
  covered[2] = static_cast<std::uint8_t>(length >> 8);
  covered[3] = static_cast<std::uint8_t>(length);
  auto mac = crypto::hmac_sha1(key, covered);
  ByteView received(raw_.data() + offset + 4, 20);
  return crypto::equal_constant_time(mac, received);
}

void StunMessage::add(std::uint16_t type, ByteView value) {
  attrs_.push_back({type, Bytes(value.begin(), value.end())});
}

void StunMessage::add_u32(std::uint16_t type, std::uint32_t value) {
  ByteWriter w;
  w.u32(value);
  add(type, w.view());
}

void StunMessage::add_u64(std::uint16_t type, std::uint64_t value) {
  ByteWriter w;
  w.u64(value);
  add(type, w.view());
}

// RFC 8489 §14.2: X-Port is the port XOR the cookie's high 16 bits; X-Address is the address
// XOR the cookie (IPv4) or the cookie followed by the transaction id (IPv6).
void StunMessage::add_xor_address(std::uint16_t type, const SocketAddress& address) {
  ByteWriter w;
  w.u8(0);
  w.u8(address.ip().is_v4() ? 0x01 : 0x02);
  w.u16(static_cast<std::uint16_t>(address.port() ^ (kStunMagicCookie >> 16)));
  std::array<std::uint8_t, 16> mask{};
  for (int i = 0; i < 4; ++i)
    mask[i] = static_cast<std::uint8_t>(kStunMagicCookie >> (24 - 8 * i));
  std::copy(transaction_id_.begin(), transaction_id_.end(), mask.begin() + 4);
  auto ip = address.ip().bytes();
  for (std::size_t i = 0; i < ip.size(); ++i)
    w.u8(ip[i] ^ mask[i]);
  add(type, w.view());
}

void StunMessage::add_error(std::uint16_t code, std::string_view reason) {
  ByteWriter w;
  w.u16(0);
  w.u8(static_cast<std::uint8_t>(code / 100));
  w.u8(static_cast<std::uint8_t>(code % 100));
  w.bytes(as_bytes(reason));
  add(stun_attr::kErrorCode, w.view());
}

const StunAttribute* StunMessage::find(std::uint16_t type) const noexcept {
  for (const auto& a : attrs_) {
    if (a.type == type) return &a;
  }
  return nullptr;
}

std::optional<std::string_view> StunMessage::string(std::uint16_t type) const noexcept {
  const auto* a = find(type);
  if (!a) return std::nullopt;
  return as_string_view(a->value);
}

std::optional<std::uint32_t> StunMessage::u32(std::uint16_t type) const noexcept {
  const auto* a = find(type);
  if (!a || a->value.size() != 4) return std::nullopt;
  return ByteReader(a->value).u32();
}

std::optional<std::uint64_t> StunMessage::u64(std::uint16_t type) const noexcept {
  const auto* a = find(type);
  if (!a || a->value.size() != 8) return std::nullopt;
  return ByteReader(a->value).u64();
}

namespace {
std::optional<SocketAddress> read_address(ByteView value, const TransactionId* xor_id) {
  ByteReader r(value);
  r.skip(1);
  auto family = r.u8();
  auto port = r.u16();
  if (!family || !port) return std::nullopt;
  const std::size_t len = *family == 0x01 ? 4 : *family == 0x02 ? 16 : 0;
  if (len == 0 || r.remaining() != len) return std::nullopt;
  auto raw = *r.bytes(len);
  std::array<std::uint8_t, 16> mask{};
  if (xor_id) {
    for (int i = 0; i < 4; ++i)
      mask[i] = static_cast<std::uint8_t>(kStunMagicCookie >> (24 - 8 * i));
    std::copy(xor_id->begin(), xor_id->end(), mask.begin() + 4);
    *port ^= static_cast<std::uint16_t>(kStunMagicCookie >> 16);
  }
  if (len == 4) {
    return SocketAddress(IpAddress::v4({static_cast<std::uint8_t>(raw[0] ^ mask[0]),
                                        static_cast<std::uint8_t>(raw[1] ^ mask[1]),
                                        static_cast<std::uint8_t>(raw[2] ^ mask[2]),
                                        static_cast<std::uint8_t>(raw[3] ^ mask[3])}),
                         *port);
  }
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < 16; ++i)
    b[i] = raw[i] ^ mask[i];
  return SocketAddress(IpAddress::v6(b), *port);
}
} // namespace

std::optional<SocketAddress> StunMessage::xor_address(std::uint16_t type) const {
  const auto* a = find(type);
  if (!a) return std::nullopt;
  return read_address(a->value, &transaction_id_);
}

std::optional<SocketAddress> StunMessage::mapped_address() const {
  const auto* a = find(stun_attr::kMappedAddress);
  if (!a) return std::nullopt;
  return read_address(a->value, nullptr);
}

std::optional<StunErrorCode> StunMessage::error_code() const {
  const auto* a = find(stun_attr::kErrorCode);
  if (!a || a->value.size() < 4) return std::nullopt;
  const unsigned cls = a->value[2] & 0x07;
  const unsigned number = a->value[3];
  if (cls < 3 || cls > 6 || number > 99) return std::nullopt;
  return StunErrorCode{static_cast<std::uint16_t>(cls * 100 + number),
                       std::string(as_string_view(ByteView(a->value).subspan(4)))};
}

std::vector<std::uint16_t> StunMessage::unknown_required_attributes() const {
  static constexpr std::uint16_t kKnown[] = {stun_attr::kMappedAddress,
                                             stun_attr::kUsername,
                                             stun_attr::kMessageIntegrity,
                                             stun_attr::kErrorCode,
                                             stun_attr::kUnknownAttributes,
                                             stun_attr::kChannelNumber,
                                             stun_attr::kLifetime,
                                             stun_attr::kXorPeerAddress,
                                             stun_attr::kData,
                                             stun_attr::kRealm,
                                             stun_attr::kNonce,
                                             stun_attr::kXorRelayedAddress,
                                             stun_attr::kRequestedTransport,
                                             stun_attr::kDontFragment,
                                             stun_attr::kXorMappedAddress,
                                             stun_attr::kPriority,
                                             stun_attr::kUseCandidate,
                                             stun_attr::kMessageIntegritySha256,
                                             stun_attr::kPasswordAlgorithm,
                                             stun_attr::kUserhash};
  std::vector<std::uint16_t> unknown;
  for (const auto& a : attrs_) {
    if (!stun_attr::is_comprehension_required(a.type)) continue;
    if (std::find(std::begin(kKnown), std::end(kKnown), a.type) == std::end(kKnown))
      unknown.push_back(a.type);
  }
  return unknown;
}

Bytes long_term_key(std::string_view username, std::string_view realm, std::string_view password) {
  std::string input;
  input.reserve(username.size() + realm.size() + password.size() + 2);
  input.append(username).append(":").append(realm).append(":").append(password);
  Bytes out(16);
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), out.data(), &len, EVP_md5(), nullptr);
  return out;
}

} // namespace posthorn::ice
