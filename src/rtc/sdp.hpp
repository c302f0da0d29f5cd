#pragma once
// A WebRTC session description (RFC 8866 SDP as profiled by JSEP, RFC 8829) reduced to what a
// BUNDLEd data-channel session needs, plus enough of audio/video m= sections to answer them
// with a rejection. Plain value types: no threads, no callbacks, copy freely.
//
// parse_sdp() is lenient the way browsers are (docs/sdp.md): unknown lines are skipped, unknown
// attributes are kept verbatim in `other_attributes`, a malformed a=candidate line is skipped and
// counted rather than failing the whole description. Only a broken skeleton is an error: no
// "v=0" first, or an m= line without kind, port and protocol; and the size limits below.
//
// to_string() writes CRLF lines in one canonical order (see sdp_write.cpp) that Chrome, Firefox,
// Safari, libdatachannel, Pion and werift accept. For any parsed description d,
// parse_sdp(to_string(d)) == d.

#include "ice/candidate.hpp"
#include "rtc/sdp_errc.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::rtc {

/// Input bounds. Real offers are 0.5-10 KiB with 1-20 sections and a dozen candidates; the
/// limits are far above that and keep a hostile peer's SDP to bounded work and memory.
inline constexpr std::size_t kMaxSdpSize = 256 * 1024;
inline constexpr std::size_t kMaxMediaSections = 1000;
inline constexpr std::size_t kMaxCandidatesPerSection = 1000;

/// RFC 8841 §5: without a=sctp-port the SCTP port is 5000.
inline constexpr std::uint16_t kDefaultSctpPort = 5000;
/// RFC 8841 §6.1: without a=max-message-size a peer can receive 64 KiB messages.
inline constexpr std::size_t kDefaultMaxMessageSize = 65536;

/// a=fingerprint (RFC 8122 §5). Parsing normalises the algorithm to lower case ("sha-256") and
/// the value to upper-case hex pairs ("AB:CD:..."), so fingerprints compare with ==.
struct Fingerprint {
  std::string algorithm;
  std::string value;
  friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
};

/// a=setup (RFC 4145 §4, RFC 8842 §5.1): who starts the DTLS handshake.
enum class SetupRole : std::uint8_t { ActPass, Active, Passive, HoldConn };
std::string_view to_string(SetupRole role) noexcept; // "actpass", "active", ...
std::optional<SetupRole> parse_setup_role(std::string_view text) noexcept;

/// One m= section.
struct MediaSection {
  std::string kind;       // "application", "audio", "video"
  std::uint16_t port = 9; // 0 = rejected / disabled (RFC 3264 §6, RFC 8843 §7.3.3)
  std::string protocol;   // "UDP/DTLS/SCTP", "DTLS/SCTP" (pre-RFC 8841), "UDP/TLS/RTP/SAVPF"
  std::vector<std::string> formats; // "webrtc-datachannel", payload types, or "5000" (old form)
  std::string mid;                  // a=mid (RFC 5888); empty = absent
  std::optional<std::string> ice_ufrag, ice_pwd; // may be session-level: see effective_*()
  std::vector<std::string> ice_options;          // "trickle", "ice2"
  std::optional<Fingerprint> fingerprint;
  std::optional<SetupRole> setup;
  /// a=sctp-port (RFC 8841 §5), or the port of an old a=sctpmap:5000 webrtc-datachannel N.
  /// Written back as a=sctpmap when `protocol` is the old "DTLS/SCTP".
  std::optional<std::uint16_t> sctp_port;
  std::optional<std::size_t> max_message_size; // a=max-message-size; 0 = no limit
  std::vector<ice::Candidate> candidates;
  bool end_of_candidates = false;
  std::optional<std::string> direction; // "sendrecv", "sendonly", "recvonly", "inactive"
  bool rtcp_mux = false;
  /// a=bundle-only (RFC 8843 §6): port 0 then means "only usable inside BUNDLE", not rejected.
  bool bundle_only = false;
  /// Every other a= line of this section in order, verbatim without "a=" ("rtpmap:111 opus/...").
  std::vector<std::string> other_attributes;
  /// c= address (c=IN IP4 <addr> or IN IP6 <addr>); a session-level c= applies when the
  /// section has none.
  std::string connection_address = "0.0.0.0";

  /// RFC 3264 §6 / RFC 8843 §7.3.3: port 0 without a=bundle-only rejects or disables it.
  [[nodiscard]] bool is_rejected() const noexcept { return port == 0 && !bundle_only; }
  /// An SCTP-over-DTLS application section (RFC 8841), in the current or the old form.
  [[nodiscard]] bool is_data_channel() const noexcept;
  // Out of line: GCC 12 reports a false -Wmaybe-uninitialized when std::optional is read inline.
  [[nodiscard]] std::uint16_t sctp_port_or_default() const noexcept;
  [[nodiscard]] std::size_t max_message_size_or_default() const noexcept;

  friend bool operator==(const MediaSection&, const MediaSection&) = default;
};

struct SessionDescription {
  std::string origin_username = "-"; // o= (RFC 8866 §5.2)
  std::uint64_t session_id = 0;
  std::uint64_t session_version = 0;
  std::string session_name = "-"; // s=
  std::optional<std::string> ice_ufrag, ice_pwd;
  std::vector<std::string> ice_options;
  bool ice_lite = false; // a=ice-lite (RFC 8839 §5.3)
  std::optional<Fingerprint> fingerprint;
  std::optional<SetupRole> setup;
  std::vector<std::vector<std::string>> bundle_groups; // a=group:BUNDLE 0 1 (RFC 8843 §7.1)
  /// Every other session-level a= line in order, verbatim without "a=".
  std::vector<std::string> other_attributes;
  std::vector<MediaSection> media;

  // The transport parameters that apply to a section: its own attribute if present, else that
  // of its BUNDLE group's tagged section (the first mid listed; RFC 8843 §7.1.3, §7.2: bundled
  // sections share one transport, and bundle-only ones may omit them), else the session-level
  // attribute (RFC 8839 §5.4, RFC 8122 §5, RFC 4145 §4).
  [[nodiscard]] std::optional<std::string> effective_ufrag(const MediaSection& m) const;
  [[nodiscard]] std::optional<std::string> effective_pwd(const MediaSection& m) const;
  [[nodiscard]] std::optional<Fingerprint> effective_fingerprint(const MediaSection& m) const;
  [[nodiscard]] std::optional<SetupRole> effective_setup(const MediaSection& m) const;
  [[nodiscard]] const std::vector<std::string>& effective_ice_options(const MediaSection& m) const;

  /// The section with this a=mid, if any.
  [[nodiscard]] const MediaSection* find_media(std::string_view mid) const;
  [[nodiscard]] MediaSection* find_media(std::string_view mid);
  /// The BUNDLE group that lists `mid`, if any.
  [[nodiscard]] const std::vector<std::string>* bundle_group_of(std::string_view mid) const;
  /// The tagged section of m's BUNDLE group (the first mid listed), or nullptr if m is not
  /// bundled or the tag names no section.
  [[nodiscard]] const MediaSection* bundle_tag_of(const MediaSection& m) const;

  friend bool operator==(const SessionDescription&, const SessionDescription&) = default;
};

/// What lenient parsing dropped, for logs and counters.
struct SdpParseStats {
  std::size_t skipped_candidates = 0; // a=candidate lines that ice::Candidate::parse refused
  std::size_t ignored_lines = 0;      // lines neither modelled nor kept (b=, i=, malformed o=/c=)
};

/// Parses SDP text with CRLF or LF line endings. Errors (all Condition::ProtocolViolation):
/// Errc::MalformedSdp, SdpTooLarge, TooManyMediaSections, TooManyCandidates.
[[nodiscard]] result<SessionDescription> parse_sdp(std::string_view text,
                                                   SdpParseStats* stats = nullptr);

/// Writes the description with CRLF line endings, in canonical order: v o s t, session
/// attributes, then per m= section: m c mid ice-* fingerprint setup direction rtcp-mux
/// bundle-only sctp max-message-size candidates end-of-candidates, then the other attributes.
[[nodiscard]] std::string to_string(const SessionDescription& sdp);

/// The answer to an offered m= section we do not accept (audio/video in a data-only session):
/// same kind, protocol, first format and mid, port 0, a=inactive (RFC 3264 §6; JSEP RFC 8829
/// §5.3.1 keeps the mid). The answerer must also leave the mid out of its BUNDLE group
/// (RFC 8843 §7.3.3).
[[nodiscard]] MediaSection make_rejected_section(const MediaSection& offered);

} // namespace posthorn::rtc
