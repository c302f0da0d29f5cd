#include "net/url.hpp"

#include "net/errc.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace posthorn::net {
namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// RFC 3986 §2.1 percent-decoding; nullopt on a broken escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0F]);
    }
  }
  return out;
}

/// RFC 3986 §3.2.2 reg-name, restricted to what DNS names and IPv4 literals use.
bool valid_reg_name(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

bool valid_ipv6_literal(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
  });
}

} // namespace

std::uint16_t default_port(std::string_view scheme) noexcept {
  if (scheme == "ws") return 80;
  if (scheme == "wss") return 443;
  if (scheme == "mqtt" || scheme == "tcp") return 1883;
  if (scheme == "mqtts" || scheme == "tls") return 8883;
  return 0;
}

std::string Url::host_header() const {
  std::string out = is_ipv6_literal() ? "[" + host + "]" : host;
  if (port != default_port(scheme)) out += ":" + std::to_string(port);
  return out;
}

std::string Url::to_string(bool with_credentials) const {
  std::string out = scheme + "://";
  if (with_credentials && username) {
    out += percent_encode(*username);
    if (password) out += ":" + percent_encode(*password);
    out += "@";
  }
  out += host_header();
  out += target;
  return out;
}

result<Url> parse_url(std::string_view text) {
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return Errc::InvalidUrl;
  Url url;
  url.scheme = to_lower(text.substr(0, scheme_end));
  if (!std::all_of(url.scheme.begin(), url.scheme.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      }))
    return Errc::InvalidUrl;
  if (default_port(url.scheme) == 0) return Errc::UnsupportedScheme;

  std::string_view rest = text.substr(scheme_end + 3);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  const std::string_view target =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

  // userinfo: everything up to the last '@' (a password may itself contain an encoded '@').
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    if (!user) return Errc::InvalidUrl;
    url.username = std::move(*user);
    if (colon != std::string_view::npos) {
      auto pass = percent_decode(userinfo.substr(colon + 1));
      if (!pass) return Errc::InvalidUrl;
      url.password = std::move(*pass);
    }
  }

  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return Errc::InvalidUrl;
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Errc::InvalidUrl;
      port = after.substr(1);
    }
    if (!valid_ipv6_literal(host)) return Errc::InvalidUrl;
  } else {
    const auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (!valid_reg_name(host)) return Errc::InvalidUrl;
  }
  url.host = to_lower(host);

  url.port = default_port(url.scheme);
  if (!port.empty()) { // RFC 3986 §3.2.3: an empty port means the default
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return Errc::InvalidUrl;
    url.port = static_cast<std::uint16_t>(value);
  }

  if (target.empty()) {
    url.target = "/";
  } else if (target.front() == '?') {
    url.target = "/" + std::string(target);
  } else {
    url.target = std::string(target);
  }
  if (std::any_of(url.target.begin(), url.target.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7F; }))
    return Errc::InvalidUrl; // would break the HTTP request line
  return url;
}

} // namespace posthorn::net
