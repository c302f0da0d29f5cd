// SDP text -> SessionDescription. Lenient where browsers are lenient (docs/sdp.md): the only
// hard errors are a missing "v=0", an m= line without kind/port/protocol, and the size limits.
//
// Rule that keeps parse(to_string(d)) == d: a modelled attribute is taken from its first valid
// line; an invalid or repeated one goes to other_attributes verbatim. The writer puts modelled
// attributes before the others, so on re-parse the same lines win again.
#include "rtc/sdp.hpp"

#include <charconv>
#include <limits>

namespace posthorn::rtc {
namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
char to_upper(char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

/// RFC 8866 §9: text is any byte but NUL, CR and LF. We also refuse the other C0 controls and
/// DEL (tab excepted) so that nothing invisible is kept and written back.
bool has_control(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return true;
  }
  return false;
}

std::vector<std::string_view> split(std::string_view s, bool comma_too = false) {
  std::vector<std::string_view> out;
  auto sep = [&](char c) { return is_space(c) || (comma_too && c == ','); };
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && sep(s[i]))
      ++i;
    const std::size_t start = i;
    while (i < s.size() && !sep(s[i]))
      ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <class T> std::optional<T> parse_uint(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || v > std::numeric_limits<T>::max()) {
    return std::nullopt;
  }
  return static_cast<T>(v);
}

/// One token without inner whitespace (ice-ufrag, ice-pwd, mid values).
std::optional<std::string> single_token(std::string_view value) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  for (char c : value) {
    if (is_space(c)) return std::nullopt;
  }
  return std::string(value);
}

/// RFC 8122 §5: fingerprint = hash-func SP 2UHEX *(":" 2UHEX). Lower-case hex is accepted and
/// upper-cased (RFC 8122 asks for upper case; some stacks write lower).
std::optional<Fingerprint> parse_fingerprint(std::string_view value) {
  const auto t = split(value);
  if (t.size() != 2) return std::nullopt;
  const std::string_view hex = t[1];
  if (hex.size() % 3 != 2) return std::nullopt;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const bool ok = (i % 3 == 2) ? hex[i] == ':' : is_hex(hex[i]);
    if (!ok) return std::nullopt;
  }
  Fingerprint fp;
  for (char c : t[0])
    fp.algorithm += to_lower(c);
  for (char c : hex)
    fp.value += to_upper(c);
  return fp;
}

/// c=IN IP4 <addr> / c=IN IP6 <addr> (RFC 8866 §5.7); returns the address token.
std::optional<std::string> parse_connection(std::string_view value) {
  const auto t = split(value);
  if (t.size() != 3 || t[0] != "IN" || (t[1] != "IP4" && t[1] != "IP6")) return std::nullopt;
  return std::string(t[2]);
}

bool is_direction(std::string_view name) noexcept {
  return name == "sendrecv" || name == "sendonly" || name == "recvonly" || name == "inactive";
}

/// The attributes that may appear at session and at media level (RFC 8839 §5, RFC 8122 §5,
/// RFC 4145 §4), handled the same way at both.
struct TransportFields {
  std::optional<std::string>& ufrag;
  std::optional<std::string>& pwd;
  std::vector<std::string>& options;
  std::optional<Fingerprint>& fingerprint;
  std::optional<SetupRole>& setup;
  std::vector<std::string>& others;
};

/// An a= line split at its first ':' (RFC 8866 §5.13: a=<name> or a=<name>:<value>).
struct Attribute {
  std::string_view raw; // everything after "a="
  std::string_view name;
  std::optional<std::string_view> value;
};

Attribute split_attribute(std::string_view raw) {
  const auto colon = raw.find(':');
  if (colon == std::string_view::npos) return {raw, raw, std::nullopt};
  return {raw, raw.substr(0, colon), raw.substr(colon + 1)};
}

/// Returns false if `a` is not one of the transport attributes.
bool handle_transport_attribute(TransportFields f, const Attribute& a) {
  auto keep = [&] { f.others.emplace_back(a.raw); };
  if (a.name == "ice-ufrag" || a.name == "ice-pwd") {
    auto& field = a.name == "ice-ufrag" ? f.ufrag : f.pwd;
    auto token = a.value ? single_token(*a.value) : std::nullopt;
    if (token && !field) {
      field = std::move(token);
    } else {
      keep();
    }
    return true;
  }
  if (a.name == "ice-options") {
    // RFC 8839 §5.6 separates options with SP; libdatachannel writes "ice2,trickle".
    const auto tokens = a.value ? split(*a.value, true) : std::vector<std::string_view>{};
    if (tokens.empty()) {
      keep();
    } else {
      for (auto t : tokens)
        f.options.emplace_back(t);
    }
    return true;
  }
  if (a.name == "fingerprint") {
    auto fp = a.value ? parse_fingerprint(*a.value) : std::nullopt;
    if (!fp) {
      keep();
    } else if (!f.fingerprint) {
      f.fingerprint = std::move(fp);
    } else if (f.fingerprint->algorithm != "sha-256" && fp->algorithm == "sha-256") {
      // RFC 8122 §5 allows several fingerprints; we verify SHA-256 (what every browser sends),
      // so prefer it over an earlier weaker one, which is kept verbatim like any duplicate.
      f.others.push_back("fingerprint:" + f.fingerprint->algorithm + ' ' + f.fingerprint->value);
      f.fingerprint = std::move(fp);
    } else {
      keep();
    }
    return true;
  }
  if (a.name == "setup") {
    const auto role = a.value ? parse_setup_role(trim(*a.value)) : std::nullopt;
    if (role && !f.setup) {
      f.setup = role;
    } else {
      keep();
    }
    return true;
  }
  return false;
}

class Parser {
public:
  explicit Parser(SdpParseStats& stats) : stats_(stats) {}

  result<SessionDescription> run(std::string_view text) {
    if (text.size() > kMaxSdpSize) return Errc::SdpTooLarge;
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3); // UTF-8 BOM from some editors
    bool seen_version = false;
    while (!text.empty()) {
      const auto eol = text.find('\n');
      std::string_view line = trim(text.substr(0, eol));
      text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
      if (line.empty()) continue;

      const bool typed = line.size() >= 2 && line[1] == '=' && line[0] >= 'a' && line[0] <= 'z';
      if (!seen_version) {
        // RFC 8866 §5: the description starts with "v=0". Anything else is not SDP.
        if (!typed || line[0] != 'v' || trim(line.substr(2)) != "0") return Errc::MalformedSdp;
        seen_version = true;
        continue;
      }
      if (!typed) {
        ++stats_.ignored_lines;
        continue;
      }
      const char type = line[0];
      const std::string_view value = line.substr(2);
      if (has_control(line)) {
        if (type == 'm') return Errc::MalformedSdp; // cannot tell where the section starts
        ++stats_.ignored_lines;
        continue;
      }
      if (auto r = handle_line(type, value); !r) return r.error();
    }
    if (!seen_version) return Errc::MalformedSdp;
    return std::move(sdp_);
  }

private:
  result<void> handle_line(char type, std::string_view value) {
    MediaSection* m = sdp_.media.empty() ? nullptr : &sdp_.media.back();
    switch (type) {
    case 'm': return start_media(value);
    case 'a':
      if (m) return media_attribute(*m, value);
      session_attribute(value);
      return {};
    case 'c':
      if (auto addr = parse_connection(value); addr && m) {
        m->connection_address = std::move(*addr);
      } else if (addr) {
        session_connection_ = std::move(*addr);
      } else {
        ++stats_.ignored_lines;
      }
      return {};
    case 'o':
      if (m || seen_origin_ || !parse_origin(value)) ++stats_.ignored_lines;
      seen_origin_ = true;
      return {};
    case 's':
      if (m || seen_name_) {
        ++stats_.ignored_lines;
      } else {
        const auto name = trim(value);
        sdp_.session_name = name.empty() ? "-" : std::string(name);
        seen_name_ = true;
      }
      return {};
    case 't': return {}; // always "t=0 0" in WebRTC (RFC 8829 §5.2.1); written back as such
    default:
      // b=, i=, u=, e=, p=, k=, r=, z=, a second v=: not part of the model.
      ++stats_.ignored_lines;
      return {};
    }
  }

  bool parse_origin(std::string_view value) {
    // o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
    const auto t = split(value);
    if (t.size() < 3) return false;
    const auto id = parse_uint<std::uint64_t>(t[1]);
    const auto version = parse_uint<std::uint64_t>(t[2]);
    if (!id || !version) return false;
    sdp_.origin_username = std::string(t[0]);
    sdp_.session_id = *id;
    sdp_.session_version = *version;
    return true;
  }

  result<void> start_media(std::string_view value) {
    // m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 8866 §5.14)
    const auto t = split(value);
    if (t.size() < 3) return Errc::MalformedSdp;
    const auto slash = t[1].find('/');
    const auto port = parse_uint<std::uint16_t>(t[1].substr(0, slash));
    if (!port) return Errc::MalformedSdp;
    if (sdp_.media.size() >= kMaxMediaSections) return Errc::TooManyMediaSections;
    MediaSection& m = sdp_.media.emplace_back();
    m.kind = std::string(t[0]);
    m.port = *port;
    m.protocol = std::string(t[2]);
    for (std::size_t i = 3; i < t.size(); ++i)
      m.formats.emplace_back(t[i]);
    if (session_connection_) m.connection_address = *session_connection_;
    return {};
  }

  void session_attribute(std::string_view raw) {
    const Attribute a = split_attribute(raw);
    if (a.name.empty()) {
      ++stats_.ignored_lines;
      return;
    }
    if (handle_transport_attribute({sdp_.ice_ufrag, sdp_.ice_pwd, sdp_.ice_options,
                                    sdp_.fingerprint, sdp_.setup, sdp_.other_attributes},
                                   a)) {
      return;
    }
    if (a.name == "ice-lite") {
      // Old Pion wrote "a=ice-lite:ice-lite"; the value means nothing.
      sdp_.ice_lite = true;
      return;
    }
    if (a.name == "group" && a.value) {
      // RFC 5888 §5: a=group:<semantics> *(SP identification-tag)
      const auto t = split(*a.value);
      if (!t.empty() && is_bundle(t[0])) {
        auto& group = sdp_.bundle_groups.emplace_back();
        for (std::size_t i = 1; i < t.size(); ++i)
          group.emplace_back(t[i]);
        return;
      }
    }
    sdp_.other_attributes.emplace_back(raw);
  }

  /// RFC 5888 semantics tokens compare case-insensitively in practice; written back upper-case.
  static bool is_bundle(std::string_view s) noexcept {
    constexpr std::string_view kBundle = "BUNDLE";
    if (s.size() != kBundle.size()) return false;
    for (std::size_t i = 0; i < kBundle.size(); ++i) {
      if (to_upper(s[i]) != kBundle[i]) return false;
    }
    return true;
  }

  result<void> media_attribute(MediaSection& m, std::string_view raw) {
    const Attribute a = split_attribute(raw);
    if (a.name.empty()) {
      ++stats_.ignored_lines;
      return {};
    }
    auto keep = [&] { m.other_attributes.emplace_back(raw); };
    if (handle_transport_attribute(
            {m.ice_ufrag, m.ice_pwd, m.ice_options, m.fingerprint, m.setup, m.other_attributes},
            a)) {
      return {};
    }
    if (a.name == "candidate") {
      // RFC 8839 §5.1. Browsers drop a candidate they cannot parse and go on; so do we.
      auto c = ice::Candidate::parse(raw);
      if (!c) {
        ++stats_.skipped_candidates;
        return {};
      }
      if (m.candidates.size() >= kMaxCandidatesPerSection) return Errc::TooManyCandidates;
      m.candidates.push_back(std::move(*c));
      return {};
    }
    if (a.name == "mid") {
      auto mid = a.value ? single_token(*a.value) : std::nullopt;
      if (mid && m.mid.empty()) {
        m.mid = std::move(*mid);
      } else {
        keep();
      }
      return {};
    }
    if (a.name == "sctp-port" || a.name == "sctpmap") {
      auto port = a.value ? parse_sctp(a.name, *a.value) : std::nullopt;
      if (port && !m.sctp_port) {
        m.sctp_port = port;
      } else {
        keep();
      }
      return {};
    }
    if (a.name == "max-message-size") {
      auto size = a.value ? parse_uint<std::size_t>(trim(*a.value)) : std::nullopt;
      if (size && !m.max_message_size) {
        m.max_message_size = size;
      } else {
        keep();
      }
      return {};
    }
    if (!a.value) {
      if (a.name == "end-of-candidates") {
        m.end_of_candidates = true; // RFC 8840 §8.2
        return {};
      }
      if (a.name == "rtcp-mux") {
        m.rtcp_mux = true;
        return {};
      }
      if (a.name == "bundle-only") {
        m.bundle_only = true;
        return {};
      }
      if (is_direction(a.name) && !m.direction) {
        m.direction = std::string(a.name);
        return {};
      }
    }
    keep();
    return {};
  }

  /// a=sctp-port:<port> (RFC 8841 §5) or the pre-standard a=sctpmap:<port> webrtc-datachannel
  /// [<streams>] (draft-ietf-mmusic-sctp-sdp-05). Whichever valid one comes first wins.
  static std::optional<std::uint16_t> parse_sctp(std::string_view name, std::string_view value) {
    if (name == "sctp-port") return parse_uint<std::uint16_t>(trim(value));
    const auto t = split(value);
    if (t.size() < 2 || t.size() > 3 || t[1] != "webrtc-datachannel") return std::nullopt;
    if (t.size() == 3 && !parse_uint<std::uint32_t>(t[2])) return std::nullopt;
    return parse_uint<std::uint16_t>(t[0]);
  }

  SdpParseStats& stats_;
  SessionDescription sdp_;
  std::optional<std::string> session_connection_;
  bool seen_origin_ = false;
  bool seen_name_ = false;
};

} // namespace

result<SessionDescription> parse_sdp(std::string_view text, SdpParseStats* stats) {
  SdpParseStats local;
  Parser parser(stats ? *stats : local);
  return parser.run(text);
}

} // namespace posthorn::rtc
