#pragma once
// STUN messages (RFC 8489) with the attributes ICE (RFC 8445 §7.1) and TURN (RFC 8656) use.
//
// A StunMessage is a header plus an ordered list of raw attributes; typed helpers encode and
// decode the common ones. Decoding is structural and total: any byte string gives either a
// message or an error, never a crash (fuzz/stun_fuzz.cpp). Integrity is checked separately with
// the key the caller knows (ICE short-term password, TURN long-term key), because which key applies
// depends on the USERNAME inside the message.

#include "core/bytes.hpp"
#include "core/socket_address.hpp"
#include <posthorn/error.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::ice {

inline constexpr std::uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr std::size_t kStunHeaderSize = 20;
/// Nothing legitimate is larger than one UDP datagram; bounds every allocation in decode().
inline constexpr std::size_t kStunMaxMessageSize = 65535;

enum class StunClass : std::uint8_t {
  Request = 0,
  Indication = 1,
  SuccessResponse = 2,
  ErrorResponse = 3
};

enum class StunMethod : std::uint16_t {
  Binding = 0x001,
  Allocate = 0x003, // RFC 8656 (TURN)
  Refresh = 0x004,
  Send = 0x006,
  Data = 0x007,
  CreatePermission = 0x008,
  ChannelBind = 0x009,
};

/// Attribute type codes (RFC 8489 §18.3, RFC 8445 §16.1, RFC 8656 §18).
namespace stun_attr {
inline constexpr std::uint16_t kMappedAddress = 0x0001;
inline constexpr std::uint16_t kUsername = 0x0006;
inline constexpr std::uint16_t kMessageIntegrity = 0x0008;
inline constexpr std::uint16_t kErrorCode = 0x0009;
inline constexpr std::uint16_t kUnknownAttributes = 0x000A;
inline constexpr std::uint16_t kChannelNumber = 0x000C;
inline constexpr std::uint16_t kLifetime = 0x000D;
inline constexpr std::uint16_t kXorPeerAddress = 0x0012;
inline constexpr std::uint16_t kData = 0x0013;
inline constexpr std::uint16_t kRealm = 0x0014;
inline constexpr std::uint16_t kNonce = 0x0015;
inline constexpr std::uint16_t kXorRelayedAddress = 0x0016;
inline constexpr std::uint16_t kRequestedTransport = 0x0019;
inline constexpr std::uint16_t kDontFragment = 0x001A;
inline constexpr std::uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr std::uint16_t kPasswordAlgorithm = 0x001D;
inline constexpr std::uint16_t kUserhash = 0x001E;
inline constexpr std::uint16_t kXorMappedAddress = 0x0020;
inline constexpr std::uint16_t kPriority = 0x0024;
inline constexpr std::uint16_t kUseCandidate = 0x0025;
inline constexpr std::uint16_t kPasswordAlgorithms = 0x8002;
inline constexpr std::uint16_t kAlternateDomain = 0x8003;
inline constexpr std::uint16_t kSoftware = 0x8022;
inline constexpr std::uint16_t kAlternateServer = 0x8023;
inline constexpr std::uint16_t kFingerprint = 0x8028;
inline constexpr std::uint16_t kIceControlled = 0x8029;
inline constexpr std::uint16_t kIceControlling = 0x802A;
/// RFC 8489 §14: types 0x0000-0x7FFF are comprehension-required.
constexpr bool is_comprehension_required(std::uint16_t type) noexcept {
  return type < 0x8000;
}
} // namespace stun_attr

using TransactionId = std::array<std::uint8_t, 12>;

struct StunAttribute {
  std::uint16_t type = 0;
  Bytes value;
};

struct StunErrorCode {
  std::uint16_t code = 0; // 300..699
  std::string reason;
};

class StunMessage {
public:
  StunMessage(StunClass cls, StunMethod method, const TransactionId& id)
      : cls_(cls), method_(static_cast<std::uint16_t>(method)), transaction_id_(id) {}

  /// Parses one STUN message. Checks the header, attribute framing (4-byte padding), and
  /// FINGERPRINT if present (RFC 8489 §14.7). Attributes after MESSAGE-INTEGRITY other than
  /// FINGERPRINT are ignored, as §14.5 requires.
  static result<StunMessage> decode(ByteView data);

  /// Serializes; appends MESSAGE-INTEGRITY (HMAC-SHA1 with `integrity_key`) and then FINGERPRINT
  /// when asked (RFC 8489 §14.5, §14.7).
  [[nodiscard]] Bytes encode(std::optional<ByteView> integrity_key = std::nullopt,
                             bool fingerprint = false) const;

  /// True when the decoded message carried MESSAGE-INTEGRITY and it verifies under `key`.
  [[nodiscard]] bool check_integrity(ByteView key) const;
  [[nodiscard]] bool has_integrity() const noexcept { return integrity_offset_.has_value(); }
  [[nodiscard]] bool has_fingerprint() const noexcept { return has_fingerprint_; }

  [[nodiscard]] StunClass cls() const noexcept { return cls_; }
  [[nodiscard]] std::uint16_t method_code() const noexcept { return method_; }
  [[nodiscard]] bool is(StunClass c, StunMethod m) const noexcept {
    return cls_ == c && method_ == static_cast<std::uint16_t>(m);
  }
  [[nodiscard]] const TransactionId& transaction_id() const noexcept { return transaction_id_; }
  [[nodiscard]] const std::vector<StunAttribute>& attributes() const noexcept { return attrs_; }

  // Builders.
  void add(std::uint16_t type, ByteView value);
  void add_string(std::uint16_t type, std::string_view value) { add(type, as_bytes(value)); }
  void add_u32(std::uint16_t type, std::uint32_t value);
  void add_u64(std::uint16_t type, std::uint64_t value);
  void add_flag(std::uint16_t type) { add(type, {}); }
  void add_xor_address(std::uint16_t type, const SocketAddress& address);
  void add_error(std::uint16_t code, std::string_view reason);

  // Typed accessors (first occurrence; nullopt when absent or malformed).
  [[nodiscard]] const StunAttribute* find(std::uint16_t type) const noexcept;
  [[nodiscard]] bool has(std::uint16_t type) const noexcept { return find(type) != nullptr; }
  [[nodiscard]] std::optional<std::string_view> string(std::uint16_t type) const noexcept;
  [[nodiscard]] std::optional<std::uint32_t> u32(std::uint16_t type) const noexcept;
  [[nodiscard]] std::optional<std::uint64_t> u64(std::uint16_t type) const noexcept;
  [[nodiscard]] std::optional<SocketAddress> xor_address(std::uint16_t type) const;
  [[nodiscard]] std::optional<SocketAddress> mapped_address() const;
  [[nodiscard]] std::optional<StunErrorCode> error_code() const;
  /// Comprehension-required attribute types we do not understand (RFC 8489 §7.3.1 → 420).
  [[nodiscard]] std::vector<std::uint16_t> unknown_required_attributes() const;

private:
  StunClass cls_;
  std::uint16_t method_;
  TransactionId transaction_id_;
  std::vector<StunAttribute> attrs_;
  // Set by decode(): the raw bytes, to verify MESSAGE-INTEGRITY later.
  Bytes raw_;
  std::optional<std::size_t> integrity_offset_;
  bool has_fingerprint_ = false;
};

/// Cheap demultiplexing test (RFC 7983 §7 and RFC 8489 §6): top two bits zero, magic cookie
/// present, length a multiple of 4 that fits.
bool looks_like_stun(ByteView data) noexcept;

/// RFC 8489 §9.2.2 long-term credential key: MD5(username ":" realm ":" password) (SASLprep is
/// the identity for the ASCII credentials TURN servers hand out).
Bytes long_term_key(std::string_view username, std::string_view realm, std::string_view password);

} // namespace posthorn::ice
