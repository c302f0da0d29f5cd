#pragma once
// The subset of the DNS message format (RFC 1035 §4) that an mDNS querier for ICE candidates
// needs: build a one-question query for the A or AAAA record of a name, and decode any message
// into its questions and resource records, following name compression (RFC 1035 §4.1.4).
//
// Decoding is total and bounded: any byte string gives a message or an Errc, never a crash, a
// hang or an allocation larger than the input allows (fuzz/mdns_fuzz.cpp). Compression pointers
// must point strictly before the start of the name segment they continue, which makes loops
// impossible; names are capped at 255 octets and 128 pointer hops. Record data is kept raw:
// only A and AAAA are interpreted (Record::address()); names inside other types' data (NSEC, PTR,
// SRV) may hold pointers relative to the original message and are not followed.
//
// mDNS specifics (RFC 6762) handled here: the top bit of a question's class is the "unicast
// response" bit (§5.4) and the top bit of a record's class is "cache flush" (§10.2); both are
// split off into flags so `cls` is the plain class (1 = IN).

#include "core/bytes.hpp"
#include "core/socket_address.hpp"
#include <posthorn/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::ice::mdns {

/// RFC 6762 §3: queries go to UDP port 5353 of 224.0.0.251 / ff02::fb.
inline constexpr std::uint16_t kPort = 5353;
IpAddress multicast_group_v4() noexcept;
IpAddress multicast_group_v6() noexcept;

namespace rr_type {
inline constexpr std::uint16_t kA = 1;
inline constexpr std::uint16_t kAaaa = 28;
inline constexpr std::uint16_t kNsec = 47;
} // namespace rr_type
inline constexpr std::uint16_t kClassIn = 1;

/// RFC 1035 §2.3.4 limits.
inline constexpr std::size_t kMaxLabelLength = 63;
inline constexpr std::size_t kMaxNameLength = 255; // wire octets, including the root label

/// A domain name, held in its uncompressed wire form (length-prefixed labels ending with the
/// zero-length root label). Equality ignores ASCII case (RFC 6762 §16, RFC 4343).
class Name {
public:
  Name(); // the root name "."
  /// Dotted text ("6a1f...c0d.local", trailing dot optional). "\." "\\" and "\DDD" escape a
  /// byte inside a label, as in to_string(). Errc::InvalidName for empty labels, labels over 63
  /// octets, or names over 255.
  static result<Name> parse(std::string_view text);
  /// Validates an uncompressed wire name.
  static result<Name> from_wire(std::string wire);

  [[nodiscard]] const std::string& wire() const noexcept { return wire_; }
  /// Dotted text without the trailing dot ("." for the root); parse(to_string()) == *this.
  [[nodiscard]] std::string to_string() const;
  /// The name lowercased (ASCII): a map key under which equal names collide.
  [[nodiscard]] std::string key() const;
  /// Whether the last label is "local" (RFC 6762 §3: such names are resolved by mDNS).
  [[nodiscard]] bool is_local() const noexcept;

  friend bool operator==(const Name& a, const Name& b) noexcept;

private:
  explicit Name(std::string wire) : wire_(std::move(wire)) {}
  std::string wire_;
};

struct Question {
  Name name;
  std::uint16_t type = rr_type::kA;
  std::uint16_t cls = kClassIn;
  bool unicast_response = false; // RFC 6762 §5.4 "QU" bit
  friend bool operator==(const Question&, const Question&) = default;
};

struct Record {
  Name name;
  std::uint16_t type = rr_type::kA;
  std::uint16_t cls = kClassIn;
  bool cache_flush = false; // RFC 6762 §10.2
  std::uint32_t ttl = 0;    // seconds
  Bytes rdata;

  /// An A record (4-octet rdata) or AAAA record (16 octets) of class IN; nullopt otherwise.
  [[nodiscard]] std::optional<IpAddress> address() const;
  /// The A or AAAA record for `address`.
  static Record address_record(Name name, const IpAddress& address, std::uint32_t ttl,
                               bool cache_flush = true);
  friend bool operator==(const Record&, const Record&) = default;
};

struct Message {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authorities;
  std::vector<Record> additionals;

  static constexpr std::uint16_t kFlagResponse = 0x8000;      // QR
  static constexpr std::uint16_t kFlagAuthoritative = 0x0400; // AA
  static constexpr std::uint16_t kFlagTruncated = 0x0200;     // TC

  [[nodiscard]] bool is_response() const noexcept { return (flags & kFlagResponse) != 0; }
  [[nodiscard]] std::uint8_t opcode() const noexcept { return (flags >> 11) & 0x0f; }
  [[nodiscard]] std::uint8_t rcode() const noexcept { return flags & 0x0f; }

  /// Any byte string: a message, or Errc::Truncated / BadLabel / NameTooLong / BadPointer.
  /// Bytes after the last record are ignored.
  static result<Message> decode(ByteView data);
  /// Without compression. decode(encode()) gives back an equal message.
  [[nodiscard]] Bytes encode() const;

  friend bool operator==(const Message&, const Message&) = default;
};

/// A one-question mDNS query (RFC 6762 §18: ID 0, no flags) for `type` records of `name`.
/// Chromium's responder answers only single-question queries (measured, see docs/mdns.md), so
/// A and AAAA are asked in two messages.
Bytes make_query(const Name& name, std::uint16_t type, bool unicast_response = false);

} // namespace posthorn::ice::mdns
