// SessionDescription -> SDP text, CRLF line endings (RFC 8866 §5), one canonical order.
//
// The order follows what the strictest readers expect: libwebrtc requires v, o, s, t first and
// in that order; werift needs a=setup in every section that carries DTLS (it does not inherit a
// missing one); old Pion read ice-ufrag/pwd only at media level. Everything the model does not
// know is written back verbatim after the modelled attributes of the same level.
#include "rtc/sdp.hpp"

namespace posthorn::rtc {
namespace {

class Writer {
public:
  template <class... Parts> void line(const Parts&... parts) {
    (append(parts), ...);
    out_ += "\r\n";
  }
  std::string take() { return std::move(out_); }

private:
  void append(std::string_view s) { out_ += s; }
  void append(char c) { out_ += c; }
  void append(std::uint64_t n) { out_ += std::to_string(n); }
  std::string out_;
};

void write_transport(Writer& w, const std::optional<std::string>& ufrag,
                     const std::optional<std::string>& pwd, const std::vector<std::string>& options,
                     const std::optional<Fingerprint>& fingerprint,
                     const std::optional<SetupRole>& setup) {
  if (ufrag) w.line("a=ice-ufrag:", *ufrag);
  if (pwd) w.line("a=ice-pwd:", *pwd);
  if (!options.empty()) {
    // RFC 8839 §5.6: options are separated by SP. (libdatachannel splits on ',' and would see
    // one option "trickle ice2"; harmless, but offer a single option to it when possible.)
    std::string joined;
    for (const auto& o : options) {
      if (!joined.empty()) joined += ' ';
      joined += o;
    }
    w.line("a=ice-options:", joined);
  }
  if (fingerprint) w.line("a=fingerprint:", fingerprint->algorithm, ' ', fingerprint->value);
  if (setup) w.line("a=setup:", to_string(*setup));
}

void write_media(Writer& w, const MediaSection& m) {
  std::string formats;
  for (const auto& f : m.formats) {
    formats += ' ';
    formats += f;
  }
  w.line("m=", m.kind, ' ', std::uint64_t{m.port}, ' ', m.protocol, formats);
  const std::string_view address =
      m.connection_address.empty() ? std::string_view("0.0.0.0") : m.connection_address;
  w.line("c=IN ", address.find(':') == std::string_view::npos ? "IP4 " : "IP6 ", address);
  if (!m.mid.empty()) w.line("a=mid:", m.mid);
  write_transport(w, m.ice_ufrag, m.ice_pwd, m.ice_options, m.fingerprint, m.setup);
  if (m.direction) w.line("a=", *m.direction);
  if (m.rtcp_mux) w.line("a=rtcp-mux");
  if (m.bundle_only) w.line("a=bundle-only");
  if (m.sctp_port) {
    if (m.protocol == "DTLS/SCTP") {
      // The pre-RFC 8841 form: peers that send "DTLS/SCTP 5000" only understand a=sctpmap.
      // 1024 streams is what Chrome and Pion advertised in that form.
      w.line("a=sctpmap:", std::uint64_t{*m.sctp_port}, " webrtc-datachannel 1024");
    } else {
      w.line("a=sctp-port:", std::uint64_t{*m.sctp_port});
    }
  }
  if (m.max_message_size) w.line("a=max-message-size:", std::uint64_t{*m.max_message_size});
  for (const auto& c : m.candidates)
    w.line("a=", c.to_string());
  if (m.end_of_candidates) w.line("a=end-of-candidates");
  for (const auto& a : m.other_attributes)
    w.line("a=", a);
}

} // namespace

std::string to_string(const SessionDescription& d) {
  Writer w;
  w.line("v=0");
  // The address in o= is not used by anyone; libwebrtc writes 127.0.0.1 as well.
  w.line("o=", d.origin_username.empty() ? std::string_view("-") : d.origin_username, ' ',
         d.session_id, ' ', d.session_version, " IN IP4 127.0.0.1");
  w.line("s=", d.session_name.empty() ? std::string_view("-") : d.session_name);
  w.line("t=0 0");
  for (const auto& group : d.bundle_groups) {
    std::string mids;
    for (const auto& mid : group) {
      mids += ' ';
      mids += mid;
    }
    w.line("a=group:BUNDLE", mids);
  }
  if (d.ice_lite) w.line("a=ice-lite");
  write_transport(w, d.ice_ufrag, d.ice_pwd, d.ice_options, d.fingerprint, d.setup);
  for (const auto& a : d.other_attributes)
    w.line("a=", a);
  for (const auto& m : d.media)
    write_media(w, m);
  return w.take();
}

} // namespace posthorn::rtc
