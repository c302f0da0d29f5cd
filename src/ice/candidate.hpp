#pragma once
// An ICE candidate (RFC 8445 §5.1, SDP grammar RFC 8839 §5.1) and its W3C/SDP text form.
//
// The text form is what RTCIceCandidate.candidate holds and what follows "a=" in SDP:
//   candidate:842163049 1 udp 1677729535 203.0.113.7 3478 typ srflx raddr 10.0.0.2 rport 54400
//             generation 0 ufrag EsAw network-cost 999
// Browsers hide host addresses behind mDNS names ("<uuid>.local", RFC draft-ietf-mmusic-mdns-ice-
// candidates); `address` then holds the name and `is_mdns()` is true.

#include "core/socket_address.hpp"
#include <posthorn/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posthorn::ice {

enum class CandidateType : std::uint8_t { Host, ServerReflexive, PeerReflexive, Relayed };
enum class TransportProtocol : std::uint8_t { Udp, Tcp };
enum class TcpType : std::uint8_t { Active, Passive, SimultaneousOpen };

struct Candidate {
  std::string foundation;      // 1*32 ice-char
  std::uint16_t component = 1; // 1 = RTP; data channels only use 1
  TransportProtocol transport = TransportProtocol::Udp;
  std::uint32_t priority = 0;
  std::string address; // IP literal, or an mDNS "*.local" name
  std::uint16_t port = 0;
  CandidateType type = CandidateType::Host;
  std::optional<std::string> related_address; // raddr
  std::optional<std::uint16_t> related_port;  // rport
  std::optional<TcpType> tcp_type;            // tcptype, for TCP candidates
  /// Extension attributes in order (generation, ufrag, network-id, network-cost, unknown ones),
  /// kept so that a parsed candidate prints back the same.
  std::vector<std::pair<std::string, std::string>> extensions;

  /// Parses "candidate:..." (also accepts a leading "a="). Unknown extensions are kept; a
  /// malformed mandatory field is an error (Condition::ProtocolViolation).
  static result<Candidate> parse(std::string_view text);
  /// "candidate:<foundation> <component> <udp|tcp> <priority> <address> <port> typ <type> ..."
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] bool is_mdns() const noexcept;
  /// The address as an IP socket address (nullopt for mDNS names or unparsable text).
  [[nodiscard]] std::optional<SocketAddress> socket_address() const;
  /// The value of an extension attribute ("ufrag", "generation"), if present.
  [[nodiscard]] std::optional<std::string_view> extension(std::string_view name) const;

  friend bool operator==(const Candidate&, const Candidate&) = default;
};

std::string_view to_string(CandidateType t) noexcept; // "host", "srflx", "prflx", "relay"

/// RFC 8445 §5.1.2.1: priority = 2^24*type_pref + 2^8*local_pref + (256 - component).
constexpr std::uint32_t compute_priority(std::uint32_t type_preference,
                                         std::uint32_t local_preference,
                                         std::uint16_t component) noexcept {
  return (type_preference << 24) | (local_preference << 8) | (256u - component);
}

/// RFC 8445 §5.1.2.2 recommended type preferences.
constexpr std::uint32_t type_preference(CandidateType t) noexcept {
  switch (t) {
  case CandidateType::Host: return 126;
  case CandidateType::PeerReflexive: return 110;
  case CandidateType::ServerReflexive: return 100;
  case CandidateType::Relayed: return 0;
  }
  return 0;
}

} // namespace posthorn::ice
