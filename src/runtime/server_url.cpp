#include "runtime/server_url.hpp"

#include <netdb.h>
#include <netinet/in.h>

#include <array>
#include <charconv>
#include <cstring>

namespace posthorn::runtime {
namespace {

constexpr std::uint16_t kDefaultPort = 3478; // RFC 7064 §3.1 / RFC 7065 §3.1

/// "host[:port]" or "[v6]:port" (no scheme, no query), resolved.
StunUrlResult resolve_host_port(std::string_view url) {
  std::string host;
  std::uint16_t port = kDefaultPort;
  std::string_view port_text;
  if (!url.empty() && url.front() == '[') {
    auto close = url.find(']');
    if (close == std::string_view::npos) return {std::string("unterminated IPv6 literal")};
    host = std::string(url.substr(1, close - 1));
    if (close + 1 < url.size() && url[close + 1] == ':') port_text = url.substr(close + 2);
  } else {
    auto colon = url.rfind(':');
    host = std::string(url.substr(0, colon));
    if (colon != std::string_view::npos) port_text = url.substr(colon + 1);
  }
  if (!port_text.empty()) {
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0)
      return {std::string("bad port '") + std::string(port_text) + "'"};
  }
  if (host.empty()) return {std::string("missing host")};
  if (auto ip = IpAddress::parse(host)) return {SocketAddress(*ip, port)};
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* list = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list); rc != 0)
    return {std::string("cannot resolve '") + host + "': " + gai_strerror(rc)};
  std::optional<SocketAddress> found;
  for (addrinfo* a = list; a && !found; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      std::array<std::uint8_t, 4> b;
      std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, 4);
      found = SocketAddress(IpAddress::v4(b), port);
    } else if (a->ai_family == AF_INET6) {
      std::array<std::uint8_t, 16> b;
      std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
      found = SocketAddress(IpAddress::v6(b), port);
    }
  }
  freeaddrinfo(list);
  if (!found) return {std::string("no address for '") + host + "'"};
  return {*found};
}

bool strip_prefix(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

} // namespace

StunUrlResult resolve_stun_url(std::string_view url) {
  if (!strip_prefix(url, "stun:")) strip_prefix(url, "stuns:");
  if (auto q = url.find('?'); q != std::string_view::npos) url = url.substr(0, q);
  return resolve_host_port(url);
}

TurnUrlResult resolve_turn_url(std::string_view url) {
  if (url.substr(0, 6) == "turns:")
    return {std::string("TURN over TLS (turns:) is not supported; use turn:host:port with "
                        "?transport=udp or ?transport=tcp")};
  if (!strip_prefix(url, "turn:"))
    return {std::string("a TURN URL starts with 'turn:' (RFC 7065), e.g. "
                        "turn:turn.example.org:3478?transport=udp")};
  TurnUrl out;
  if (auto q = url.find('?'); q != std::string_view::npos) {
    const auto query = url.substr(q + 1);
    url = url.substr(0, q);
    if (query == "transport=udp") {
      out.transport = ice::TurnTransport::Udp;
    } else if (query == "transport=tcp") {
      out.transport = ice::TurnTransport::Tcp;
    } else {
      return {std::string("unsupported TURN URL query '") + std::string(query) +
              "' (only transport=udp or transport=tcp)"};
    }
  }
  auto server = resolve_host_port(url);
  if (!server) return {server.error()};
  out.server = *server;
  return {out};
}

TurnConfigResult turn_server_config(std::string_view url, std::string username,
                                    std::string password) {
  auto resolved = resolve_turn_url(url);
  if (!resolved) return {resolved.error()};
  if (username.empty())
    return {std::string("a TURN server needs a username and password (long-term credentials)")};
  ice::TurnServerConfig turn;
  turn.server = (*resolved).server;
  turn.transport = (*resolved).transport;
  turn.username = std::move(username);
  turn.password = std::move(password);
  return {std::move(turn)};
}

} // namespace posthorn::runtime
