#include "ice/server_url.hpp"

#include <charconv>

namespace posthorn::ice {
namespace {

/// "host[:port]" or "[v6]" or "[v6]:port" — no scheme, no query (RFC 3986 §3.2.2 authority).
ServerUrlResult parse_host_port(std::string_view text) {
  ServerUrl out;
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return {std::string("unterminated IPv6 literal")};
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return {std::string("unexpected '") + std::string(rest) + "' after the IPv6 literal"};
      has_port = true;
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = text.find(':');
    host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = text.substr(colon + 1);
      if (port_text.find(':') != std::string_view::npos)
        return {std::string("an IPv6 address in a URL needs brackets, e.g. [::1]:3478")};
    }
  }
  if (host.empty()) return {std::string("missing host")};
  if (has_port) {
    const char* end = port_text.data() + port_text.size();
    auto [p, ec] = std::from_chars(port_text.data(), end, out.port);
    if (port_text.empty() || ec != std::errc() || p != end || out.port == 0)
      return {std::string("bad port '") + std::string(port_text) + "'"};
  }
  out.host = std::string(host);
  return {std::move(out)};
}

bool strip_prefix(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

} // namespace

ServerUrlResult parse_stun_url(std::string_view url) {
  if (!strip_prefix(url, "stun:")) strip_prefix(url, "stuns:");
  if (const auto q = url.find('?'); q != std::string_view::npos) url = url.substr(0, q);
  return parse_host_port(url);
}

ServerUrlResult parse_turn_url(std::string_view url) {
  if (url.starts_with("turns:"))
    return {std::string("TURN over TLS (turns:) is not supported; use turn:host:port with "
                        "?transport=udp or ?transport=tcp")};
  if (!strip_prefix(url, "turn:"))
    return {std::string("a TURN URL starts with 'turn:' (RFC 7065), e.g. "
                        "turn:turn.example.org:3478?transport=udp")};
  TurnTransport transport = TurnTransport::Udp;
  if (const auto q = url.find('?'); q != std::string_view::npos) {
    const auto query = url.substr(q + 1);
    url = url.substr(0, q);
    if (query == "transport=udp") {
      transport = TurnTransport::Udp;
    } else if (query == "transport=tcp") {
      transport = TurnTransport::Tcp;
    } else {
      return {std::string("unsupported TURN URL query '") + std::string(query) +
              "' (only transport=udp or transport=tcp)"};
    }
  }
  auto parsed = parse_host_port(url);
  if (parsed) std::get<0>(parsed.value).transport = transport;
  return parsed;
}

} // namespace posthorn::ice
