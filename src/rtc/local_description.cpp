// Building our offers and answers (JSEP, RFC 8829 §5.2 and §5.3) for a data-channel session.
#include "dtls/certificate.hpp"
#include "rtc/peer_connection_impl.hpp"

namespace posthorn::rtc {
namespace {

MediaSection make_data_section(std::string mid) {
  MediaSection m;
  m.kind = "application";
  m.port = 9; // JSEP §5.2.1: the discard port; real addresses travel as candidates
  m.protocol = "UDP/DTLS/SCTP";
  m.formats = {"webrtc-datachannel"};
  m.mid = std::move(mid);
  return m;
}

} // namespace

void PeerConnection::Impl::add_transport_attributes(MediaSection& m, SetupRole setup) const {
  const auto& creds = agent.local_credentials();
  m.ice_ufrag = creds.ufrag;
  m.ice_pwd = creds.pwd;
  m.ice_options = {"trickle"};
  const auto fp = config.certificate->fingerprint(dtls::FingerprintAlgorithm::Sha256);
  m.fingerprint = Fingerprint{"sha-256", fp.value};
  m.setup = setup;
  m.sctp_port = config.sctp_port;
  m.max_message_size = config.max_message_size;
  m.candidates.clear();
  m.end_of_candidates = false;
}

SessionDescription PeerConnection::Impl::build_offer() const {
  SessionDescription s;
  s.session_id = session_id;
  s.session_version = session_version;
  if (current_local) {
    // JSEP §5.2.2: a subsequent offer keeps every m= section in its place, rejected ones too.
    s.media = current_local->media;
    s.bundle_groups = current_local->bundle_groups;
    for (auto& m : s.media) {
      if (m.mid == data_mid && !m.is_rejected()) add_transport_attributes(m, SetupRole::ActPass);
    }
    return s;
  }
  auto m = make_data_section(data_mid);
  add_transport_attributes(m, SetupRole::ActPass);
  s.media.push_back(std::move(m));
  s.bundle_groups = {{data_mid}};
  return s;
}

result<SessionDescription> PeerConnection::Impl::build_answer() const {
  const auto& offer = *pending_remote;
  SessionDescription s;
  s.session_id = session_id;
  s.session_version = session_version;
  bool data_taken = false;
  for (const auto& offered : offer.media) {
    if (!data_taken && offered.is_data_channel() && !offered.is_rejected()) {
      data_taken = true;
      auto m = make_data_section(offered.mid);
      // Answer in the offer's dialect: old "DTLS/SCTP 5000" offers get the same back.
      m.protocol = offered.protocol;
      m.formats = offered.formats;
      // RFC 8842 §5.1: answer active unless the offerer is active itself.
      const auto their_setup = offer.effective_setup(offered).value_or(SetupRole::ActPass);
      add_transport_attributes(m, their_setup == SetupRole::Active ? SetupRole::Passive
                                                                   : SetupRole::Active);
      // In the pre-RFC 8841 form the format *is* the SCTP port (a=sctpmap): keep them equal.
      if (m.protocol == "DTLS/SCTP") m.formats = {std::to_string(config.sctp_port)};
      s.media.push_back(std::move(m));
      if (offer.bundle_group_of(offered.mid)) s.bundle_groups = {{offered.mid}};
    } else {
      s.media.push_back(make_rejected_section(offered));
    }
  }
  return s;
}

SessionDescription PeerConnection::Impl::with_candidates(SessionDescription sdp) const {
  for (auto& m : sdp.media) {
    if (m.mid != data_mid || m.is_rejected()) continue;
    m.candidates = local_candidates;
    m.end_of_candidates = gathering_complete;
  }
  return sdp;
}

} // namespace posthorn::rtc
