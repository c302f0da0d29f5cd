#include "cli/stun_url.hpp"

#include <netdb.h>
#include <netinet/in.h>

#include <array>
#include <charconv>
#include <cstring>

namespace posthorn::cli {

StunUrlResult resolve_stun_url(std::string_view url) {
  for (std::string_view scheme : {"stun:", "stuns:"}) {
    if (url.substr(0, scheme.size()) == scheme) {
      url.remove_prefix(scheme.size());
      break;
    }
  }
  if (auto q = url.find('?'); q != std::string_view::npos) url = url.substr(0, q);
  std::string host;
  std::uint16_t port = 3478;
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

} // namespace posthorn::cli
