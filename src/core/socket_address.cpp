#include "core/socket_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace posthorn {

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> b) noexcept {
  IpAddress a;
  a.family_ = IpFamily::V4;
  std::memcpy(a.bytes_.data(), b.data(), 4);
  return a;
}

IpAddress IpAddress::v4(std::uint32_t h) noexcept {
  return v4({static_cast<std::uint8_t>(h >> 24), static_cast<std::uint8_t>(h >> 16),
             static_cast<std::uint8_t>(h >> 8), static_cast<std::uint8_t>(h)});
}

IpAddress IpAddress::v6(std::array<std::uint8_t, 16> b) noexcept {
  IpAddress a;
  a.family_ = IpFamily::V6;
  a.bytes_ = b;
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() > 63) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> b{};
  if (inet_pton(AF_INET, buf, b.data()) == 1) return v4({b[0], b[1], b[2], b[3]});
  if (inet_pton(AF_INET6, buf, b.data()) == 1) return v6(b);
  return std::nullopt;
}

std::uint32_t IpAddress::v4_host_order() const noexcept {
  return (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) |
         (std::uint32_t{bytes_[2]} << 8) | bytes_[3];
}

bool IpAddress::is_loopback() const noexcept {
  if (is_v4()) return bytes_[0] == 127;
  static constexpr std::array<std::uint8_t, 16> kLoop{0, 0, 0, 0, 0, 0, 0, 0,
                                                      0, 0, 0, 0, 0, 0, 0, 1};
  return bytes_ == kLoop;
}

bool IpAddress::is_unspecified() const noexcept {
  for (auto b : bytes()) {
    if (b != 0) return false;
  }
  return true;
}

bool IpAddress::is_link_local() const noexcept {
  if (is_v4()) return bytes_[0] == 169 && bytes_[1] == 254;
  return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

bool IpAddress::is_private() const noexcept {
  if (is_v4()) {
    return bytes_[0] == 10 || (bytes_[0] == 172 && (bytes_[1] & 0xf0) == 16) ||
           (bytes_[0] == 192 && bytes_[1] == 168);
  }
  return (bytes_[0] & 0xfe) == 0xfc;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  std::uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    p = p * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (p > 65535) return std::nullopt;
  auto ip = IpAddress::parse(host);
  if (!ip) return std::nullopt;
  return SocketAddress(*ip, static_cast<std::uint16_t>(p));
}

std::string SocketAddress::to_string() const {
  if (ip_.is_v4()) return ip_.to_string() + ":" + std::to_string(port_);
  return "[" + ip_.to_string() + "]:" + std::to_string(port_);
}

std::size_t SocketAddressHash::operator()(const SocketAddress& a) const noexcept {
  std::size_t h = 1469598103934665603ULL;
  for (auto b : a.ip().bytes())
    h = (h ^ b) * 1099511628211ULL;
  h = (h ^ a.port()) * 1099511628211ULL;
  return h ^ static_cast<std::size_t>(a.family());
}

} // namespace posthorn
