#include "runtime/server_url.hpp"

#include "ice/server_url.hpp"

#include <netdb.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

namespace posthorn::runtime {
namespace {

/// An IP literal as it is; a name through getaddrinfo (the first IPv4 or IPv6 address).
StunUrlResult resolve(const ice::ServerUrl& url) {
  if (auto ip = IpAddress::parse(url.host)) return {SocketAddress(*ip, url.port)};
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* list = nullptr;
  if (int rc = getaddrinfo(url.host.c_str(), nullptr, &hints, &list); rc != 0)
    return {std::string("cannot resolve '") + url.host + "': " + gai_strerror(rc)};
  std::optional<SocketAddress> found;
  for (addrinfo* a = list; a && !found; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      std::array<std::uint8_t, 4> b;
      std::memcpy(b.data(), &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, 4);
      found = SocketAddress(IpAddress::v4(b), url.port);
    } else if (a->ai_family == AF_INET6) {
      std::array<std::uint8_t, 16> b;
      std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
      found = SocketAddress(IpAddress::v6(b), url.port);
    }
  }
  freeaddrinfo(list);
  if (!found) return {std::string("no address for '") + url.host + "'"};
  return {*found};
}

} // namespace

StunUrlResult resolve_stun_url(std::string_view url) {
  auto parsed = ice::parse_stun_url(url);
  if (!parsed) return {parsed.error()};
  return resolve(*parsed);
}

TurnUrlResult resolve_turn_url(std::string_view url) {
  auto parsed = ice::parse_turn_url(url);
  if (!parsed) return {parsed.error()};
  auto server = resolve(*parsed);
  if (!server) return {server.error()};
  return {TurnUrl{*server, (*parsed).transport}};
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
