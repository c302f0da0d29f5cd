#pragma once
// Relay and broker URLs: `scheme://[user[:password]@]host[:port][/path][?query]`.
//
// Schemes: ws, wss (WebSocket, default ports 80/443), mqtt, tcp (a plain TCP byte stream, default
// 1883) and mqtts, tls (TLS over TCP, default 8883). The MQTT ports are IANA's; `tcp`/`tls` are
// aliases so other byte-stream protocols can use the same transport. Credentials are
// percent-decoded (Trystero's default `wss://public:public@public.cloud.shiftr.io`); to_string()
// leaves them out unless asked, so URLs can be logged and shown in status reports.

#include "core/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posthorn::net {

struct Url {
  std::string scheme;                  ///< lowercase
  std::optional<std::string> username; ///< percent-decoded
  std::optional<std::string> password; ///< percent-decoded
  std::string host;                    ///< lowercase; IPv6 literals without brackets
  std::uint16_t port = 0;              ///< explicit or the scheme's default
  std::string target = "/";            ///< path and query ("/" when the URL has none)

  [[nodiscard]] bool is_websocket() const noexcept { return scheme == "ws" || scheme == "wss"; }
  [[nodiscard]] bool is_secure() const noexcept {
    return scheme == "wss" || scheme == "mqtts" || scheme == "tls";
  }
  [[nodiscard]] bool is_ipv6_literal() const noexcept {
    return host.find(':') != std::string::npos;
  }
  /// "host[:port]" as the HTTP Host header wants it: the port only when not the default,
  /// brackets around IPv6 literals (RFC 7230 §5.4).
  [[nodiscard]] std::string host_header() const;
  /// The URL again; credentials only when `with_credentials` (they are secrets in logs).
  [[nodiscard]] std::string to_string(bool with_credentials = false) const;

  friend bool operator==(const Url&, const Url&) = default;
};

/// The default port of a supported scheme, or 0.
std::uint16_t default_port(std::string_view scheme) noexcept;

/// Parses a URL; a fragment is dropped. Errc::InvalidUrl or Errc::UnsupportedScheme on failure.
[[nodiscard]] result<Url> parse_url(std::string_view text);

} // namespace posthorn::net
