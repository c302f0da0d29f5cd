#pragma once
// STUN/TURN server URLs as users write them (RFC 7064, RFC 7065), parsed without touching the
// network: "stun:host[:port]", "turn:host[:port][?transport=udp|tcp]", default port 3478. The
// host stays a name or an address literal; runtime/server_url resolves it.

#include "ice/turn_client.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace posthorn::ice {

struct ServerUrl {
  std::string host; ///< a DNS name or an IP literal (IPv6 without its brackets), never empty
  std::uint16_t port = 3478;
  TurnTransport transport = TurnTransport::Udp; ///< TURN only
};

/// A parsed URL, or a human sentence saying what is wrong with it.
struct ServerUrlResult {
  std::variant<ServerUrl, std::string> value;
  explicit operator bool() const { return value.index() == 0; }
  const ServerUrl& operator*() const { return std::get<0>(value); }
  const std::string& error() const { return std::get<1>(value); }
};

/// "stun:host[:port]" (RFC 7064 §3.1). "stuns:" and a missing scheme ("host:port", as a
/// `--stun` flag is written) are taken the same way; a query is ignored.
ServerUrlResult parse_stun_url(std::string_view url);

/// "turn:host[:port][?transport=udp|tcp]" (RFC 7065 §3.1; the transport defaults to UDP).
/// "turns:" (TURN over TLS) is refused with an explanation.
ServerUrlResult parse_turn_url(std::string_view url);

} // namespace posthorn::ice
