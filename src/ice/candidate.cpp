#include "ice/candidate.hpp"

#include "ice/errc.hpp"

#include <charconv>
#include <limits>

namespace posthorn::ice {
namespace {

// Longest candidate text we parse. Real ones are < 200 characters; the bound keeps a hostile
// signaling peer from making us tokenise megabytes per candidate.
constexpr std::size_t kMaxCandidateText = 1024;
// RFC 8839 §5.1: foundation = 1*32ice-char.
constexpr std::size_t kMaxFoundation = 32;
// RFC 1035 §2.3.4: a host name is at most 253 characters in text form.
constexpr std::size_t kMaxHostName = 253;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_visible(char c) noexcept {
  return c > 0x20 && c < 0x7f;
}

std::string_view trim(std::string_view s) noexcept {
  auto blank = [](char c) { return is_space(c) || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && blank(s.back()))
    s.remove_suffix(1);
  return s;
}

/// Splits on runs of spaces/tabs (the caller bounds the text, so the token count is bounded).
std::vector<std::string_view> split_tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i]))
      ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_space(s[i]))
      ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

/// A decimal number of at most `max_digits` digits, no sign, no leading '+', value <= max.
template <class T>
std::optional<T> parse_decimal(std::string_view s, std::size_t max_digits, std::uint64_t max) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || v > max) return std::nullopt;
  return static_cast<T>(v);
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  return parse_decimal<std::uint16_t>(s, 5, 65535);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool ends_with_ci(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

/// RFC 8839 §5.1 connection-address: an IP literal or an FQDN (mDNS names are FQDNs ending in
/// ".local"). Anything else — zone ids, brackets, URLs, control bytes — is rejected so that
/// nothing odd reaches resolvers or logs.
bool is_valid_address(std::string_view s) {
  if (s.empty()) return false;
  if (IpAddress::parse(s)) return true;
  if (s.size() > kMaxHostName) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
                    c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::optional<CandidateType> parse_type(std::string_view s) noexcept {
  if (s == "host") return CandidateType::Host;
  if (s == "srflx") return CandidateType::ServerReflexive;
  if (s == "prflx") return CandidateType::PeerReflexive;
  if (s == "relay") return CandidateType::Relayed;
  return std::nullopt;
}

std::optional<TcpType> parse_tcp_type(std::string_view s) noexcept {
  // RFC 6544 §4.5: tcp-type = "active" / "passive" / "so".
  if (s == "active") return TcpType::Active;
  if (s == "passive") return TcpType::Passive;
  if (s == "so") return TcpType::SimultaneousOpen;
  return std::nullopt;
}

std::string_view tcp_type_name(TcpType t) noexcept {
  switch (t) {
  case TcpType::Active: return "active";
  case TcpType::Passive: return "passive";
  case TcpType::SimultaneousOpen: return "so";
  }
  return "active";
}

error_code malformed() {
  return Errc::MalformedCandidate;
}

} // namespace

result<Candidate> Candidate::parse(std::string_view text) {
  text = trim(text);
  if (text.starts_with("a=")) text.remove_prefix(2);
  // The bound applies to "candidate:..." itself, so the bare and the a= forms agree.
  if (text.size() > kMaxCandidateText) return malformed();
  constexpr std::string_view kPrefix = "candidate:";
  if (!text.starts_with(kPrefix)) return malformed();
  text.remove_prefix(kPrefix.size());
  for (char c : text) {
    // RFC 8839 grammar is printable ASCII separated by SP; tabs are tolerated as separators.
    if (!is_visible(c) && !is_space(c)) return malformed();
  }

  const auto tokens = split_tokens(text);
  // foundation component transport priority address port "typ" type
  if (tokens.size() < 8) return malformed();

  Candidate c;
  // RFC 8839 says ice-char (ALPHA / DIGIT / "+" / "/"); libwebrtc accepts any token, and so do
  // we: being stricter than Chrome would only reject peers that work everywhere else.
  if (tokens[0].size() > kMaxFoundation) return malformed();
  c.foundation = std::string(tokens[0]);

  // RFC 8445 §5.1.2.1: component IDs are 1..256.
  const auto component = parse_decimal<std::uint16_t>(tokens[1], 3, 256);
  if (!component || *component == 0) return malformed();
  c.component = *component;

  // Transport is case-insensitive: Chrome writes "udp", Firefox and libjuice "UDP".
  if (iequals(tokens[2], "udp")) {
    c.transport = TransportProtocol::Udp;
  } else if (iequals(tokens[2], "tcp")) {
    c.transport = TransportProtocol::Tcp;
  } else {
    return malformed();
  }

  const auto priority =
      parse_decimal<std::uint32_t>(tokens[3], 10, std::numeric_limits<std::uint32_t>::max());
  if (!priority) return malformed();
  c.priority = *priority;

  if (!is_valid_address(tokens[4])) return malformed();
  c.address = std::string(tokens[4]);

  // Port 0 and 9 are legal: TCP active candidates advertise the discard port (RFC 6544 §4.5).
  const auto port = parse_port(tokens[5]);
  if (!port) return malformed();
  c.port = *port;

  if (tokens[6] != "typ") return malformed();
  const auto type = parse_type(tokens[7]);
  if (!type) return malformed();
  c.type = *type;

  // The rest is name/value pairs. RFC 8839 puts raddr/rport first and tcptype (RFC 6544) among
  // the extensions; stacks differ in where they write tcptype (Firefox last, Chrome before
  // generation), so the known names are recognised anywhere.
  for (std::size_t i = 8; i < tokens.size(); i += 2) {
    const std::string_view name = tokens[i];
    const bool has_value = i + 1 < tokens.size();
    const std::string_view value = has_value ? tokens[i + 1] : std::string_view{};
    if (name == "raddr") {
      if (!has_value || c.related_address || !is_valid_address(value)) return malformed();
      c.related_address = std::string(value);
    } else if (name == "rport") {
      const auto rport = has_value ? parse_port(value) : std::nullopt;
      if (!rport || c.related_port) return malformed();
      c.related_port = *rport;
    } else if (name == "tcptype") {
      const auto tcp = has_value ? parse_tcp_type(value) : std::nullopt;
      if (!tcp || c.tcp_type) return malformed();
      c.tcp_type = *tcp;
    } else if (name == "typ") {
      return malformed();
    } else {
      // A trailing name without a value has been seen in the wild (Pion tolerates it); keep
      // it with an empty value, which to_string() writes back as the bare name.
      c.extensions.emplace_back(std::string(name), std::string(value));
    }
  }
  // raddr and rport come as a pair (RFC 8839 §5.1); Pion rejects one without the other, so a
  // half pair would not survive being forwarded either.
  if (c.related_address.has_value() != c.related_port.has_value()) return malformed();
  return c;
}

std::string Candidate::to_string() const {
  std::string out;
  out.reserve(96 + address.size() + foundation.size());
  out += "candidate:";
  out += foundation;
  out += ' ';
  out += std::to_string(component);
  // Lower case as Chrome writes it; every stack we know compares case-insensitively.
  out += transport == TransportProtocol::Udp ? " udp " : " tcp ";
  out += std::to_string(priority);
  out += ' ';
  out += address;
  out += ' ';
  out += std::to_string(port);
  out += " typ ";
  out += ice::to_string(type);
  if (related_address) {
    out += " raddr ";
    out += *related_address;
  }
  if (related_port) {
    out += " rport ";
    out += std::to_string(*related_port);
  }
  if (tcp_type) {
    out += " tcptype ";
    out += tcp_type_name(*tcp_type);
  }
  for (const auto& [name, value] : extensions) {
    out += ' ';
    out += name;
    if (!value.empty()) {
      out += ' ';
      out += value;
    }
  }
  return out;
}

bool Candidate::is_mdns() const noexcept {
  // draft-ietf-mmusic-mdns-ice-candidates §3.1: "<uuid>.local". Accept the absolute form too.
  return !IpAddress::parse(address) &&
         (ends_with_ci(address, ".local") || ends_with_ci(address, ".local."));
}

std::optional<SocketAddress> Candidate::socket_address() const {
  const auto ip = IpAddress::parse(address);
  if (!ip) return std::nullopt;
  return SocketAddress(*ip, port);
}

std::optional<std::string_view> Candidate::extension(std::string_view name) const {
  for (const auto& [n, v] : extensions) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view to_string(CandidateType t) noexcept {
  switch (t) {
  case CandidateType::Host: return "host";
  case CandidateType::ServerReflexive: return "srflx";
  case CandidateType::PeerReflexive: return "prflx";
  case CandidateType::Relayed: return "relay";
  }
  return "host";
}

} // namespace posthorn::ice
