#pragma once
// An IPv4 or IPv6 transport address (IP + UDP/TCP port) as a plain value type. Shared by the ICE
// agent, the runtime's sockets and the sim network; it deliberately does not depend on asio so the
// sans-IO cores stay free of it.

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace posthorn {

enum class IpFamily : std::uint8_t { V4, V6 };

class IpAddress {
public:
  IpAddress() = default; // 0.0.0.0
  static IpAddress v4(std::array<std::uint8_t, 4> b) noexcept;
  static IpAddress v4(std::uint32_t host_order) noexcept;
  static IpAddress v6(std::array<std::uint8_t, 16> b) noexcept;
  /// Parses dotted IPv4 or RFC 4291/5952 IPv6 text (no zone id); nullopt otherwise.
  static std::optional<IpAddress> parse(std::string_view text);

  [[nodiscard]] IpFamily family() const noexcept { return family_; }
  [[nodiscard]] bool is_v4() const noexcept { return family_ == IpFamily::V4; }
  /// 4 bytes for IPv4, 16 for IPv6.
  [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept {
    return {bytes_.data(), is_v4() ? 4u : 16u};
  }
  [[nodiscard]] std::uint32_t v4_host_order() const noexcept;
  [[nodiscard]] bool is_loopback() const noexcept;
  [[nodiscard]] bool is_unspecified() const noexcept;
  [[nodiscard]] bool is_link_local() const noexcept;
  [[nodiscard]] bool is_private() const noexcept; // RFC 1918 / RFC 4193
  [[nodiscard]] std::string to_string() const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

private:
  IpFamily family_ = IpFamily::V4;
  std::array<std::uint8_t, 16> bytes_{};
};

class SocketAddress {
public:
  SocketAddress() = default;
  SocketAddress(IpAddress ip, std::uint16_t port) noexcept : ip_(ip), port_(port) {}
  /// "1.2.3.4:5" or "[::1]:5".
  static std::optional<SocketAddress> parse(std::string_view text);

  [[nodiscard]] const IpAddress& ip() const noexcept { return ip_; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] IpFamily family() const noexcept { return ip_.family(); }
  [[nodiscard]] std::string to_string() const;

  friend auto operator<=>(const SocketAddress&, const SocketAddress&) = default;

private:
  IpAddress ip_;
  std::uint16_t port_ = 0;
};

struct SocketAddressHash {
  std::size_t operator()(const SocketAddress& a) const noexcept;
};

} // namespace posthorn

template <> struct std::hash<posthorn::SocketAddress> : posthorn::SocketAddressHash {};
