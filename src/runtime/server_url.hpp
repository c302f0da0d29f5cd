#pragma once
// STUN/TURN server URLs (RFC 7064 / RFC 7065) parsed (ice/server_url) and resolved:
// "stun:host[:port]" and "turn:host[:port][?transport=udp|tcp]", default port 3478.

#include "core/socket_address.hpp"
#include "ice/turn_client.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace posthorn::runtime {

/// Parses and resolves (getaddrinfo, at startup only). The error is a human sentence.
struct StunUrlResult {
  std::variant<SocketAddress, std::string> value;
  explicit operator bool() const { return value.index() == 0; }
  const SocketAddress& operator*() const { return std::get<0>(value); }
  const std::string& error() const { return std::get<1>(value); }
};
StunUrlResult resolve_stun_url(std::string_view url);

struct TurnUrl {
  SocketAddress server;
  ice::TurnTransport transport = ice::TurnTransport::Udp;
};
struct TurnUrlResult {
  std::variant<TurnUrl, std::string> value;
  explicit operator bool() const { return value.index() == 0; }
  const TurnUrl& operator*() const { return std::get<0>(value); }
  const std::string& error() const { return std::get<1>(value); }
};
/// "turn:host[:port][?transport=udp|tcp]" (RFC 7065 §3.1; transport defaults to UDP). "turns:"
/// (TURN over TLS) is refused with an explanation.
TurnUrlResult resolve_turn_url(std::string_view url);

/// A TURN server as ICE takes it: the URL resolved, with long-term credentials (RFC 8656 §9.2),
/// which are required. The error is a human sentence.
struct TurnConfigResult {
  std::variant<ice::TurnServerConfig, std::string> value;
  explicit operator bool() const { return value.index() == 0; }
  const ice::TurnServerConfig& operator*() const { return std::get<0>(value); }
  const std::string& error() const { return std::get<1>(value); }
};
TurnConfigResult turn_server_config(std::string_view url, std::string username,
                                    std::string password);

} // namespace posthorn::runtime
