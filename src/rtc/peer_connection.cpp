// JSEP signaling for PeerConnection (RFC 8829 §4.1 and the W3C signaling state machine): which
// description may be applied when, rollback, and what each applied description starts.
#include "rtc/peer_connection.hpp"

#include "core/log.hpp"
#include "dtls/certificate.hpp"
#include "rtc/peer_connection_impl.hpp"
#include "rtc/sdp_errc.hpp"
#include "sctp/stack_init.hpp"

namespace posthorn::rtc {
namespace {

// Candidates that arrive before the remote description are kept (Trystero and other signaling
// layers may deliver them out of order); beyond this they are dropped.
constexpr std::size_t kMaxEarlyCandidates = 256;

const MediaSection* data_section(const SessionDescription& sdp) {
  for (const auto& m : sdp.media) {
    if (m.is_data_channel() && !m.is_rejected()) return &m;
  }
  return nullptr;
}

std::shared_ptr<const dtls::Certificate>
certificate_or_new(std::shared_ptr<const dtls::Certificate> c) {
  if (c) return c;
  auto generated = dtls::Certificate::generate();
  if (!generated)
    throw std::runtime_error("cannot generate a DTLS certificate: " + generated.error().message());
  return *generated;
}

} // namespace

std::string_view to_string(DescriptionType t) noexcept {
  switch (t) {
  case DescriptionType::Offer: return "offer";
  case DescriptionType::Pranswer: return "pranswer";
  case DescriptionType::Answer: return "answer";
  case DescriptionType::Rollback: return "rollback";
  }
  return "?";
}

std::optional<DescriptionType> parse_description_type(std::string_view s) noexcept {
  for (auto t : {DescriptionType::Offer, DescriptionType::Pranswer, DescriptionType::Answer,
                 DescriptionType::Rollback}) {
    if (s == to_string(t)) return t;
  }
  return std::nullopt;
}

std::string_view to_string(SignalingState s) noexcept {
  switch (s) {
  case SignalingState::Stable: return "stable";
  case SignalingState::HaveLocalOffer: return "have-local-offer";
  case SignalingState::HaveRemoteOffer: return "have-remote-offer";
  case SignalingState::HaveLocalPranswer: return "have-local-pranswer";
  case SignalingState::HaveRemotePranswer: return "have-remote-pranswer";
  case SignalingState::Closed: return "closed";
  }
  return "?";
}

std::string_view to_string(ConnectionState s) noexcept {
  switch (s) {
  case ConnectionState::New: return "new";
  case ConnectionState::Connecting: return "connecting";
  case ConnectionState::Connected: return "connected";
  case ConnectionState::Disconnected: return "disconnected";
  case ConnectionState::Failed: return "failed";
  case ConnectionState::Closed: return "closed";
  }
  return "?";
}

PeerConnection::Impl::Impl(Configuration c, Rng& r)
    : config([&] {
        c.certificate = certificate_or_new(std::move(c.certificate));
        return std::move(c);
      }()),
      rng(r), agent(ice::AgentConfig{.role = ice::Role::Controlling,
                                     .stun_servers = config.stun_servers,
                                     .turn_servers = config.turn_servers,
                                     .transport_policy = config.ice_transport_policy,
                                     .timing = config.ice_timing},
                    r),
      // RFC 8866 §5.2: sess-id is a numeric string; < 2^62 keeps it a safe integer everywhere.
      session_id(r.next_u64() >> 2) {
  // usrsctp's one-time global initialization costs milliseconds (allocations, a thread on some
  // builds); pay it now rather than between DTLS and SCTP in the middle of connection setup.
  sctp::initialize_stack();
}

PeerConnection::PeerConnection(Configuration config, Rng& rng)
    : impl_(std::make_unique<Impl>(std::move(config), rng)) {}
PeerConnection::~PeerConnection() = default;

void PeerConnection::add_local_socket(const SocketAddress& address) {
  impl_->agent.add_local_socket(address);
}

result<Description> PeerConnection::create_offer() {
  auto& s = *impl_;
  if (s.closed) return error_code(Errc::InvalidState);
  auto offer = s.with_candidates(s.build_offer());
  return Description{DescriptionType::Offer, to_string(offer)};
}

result<Description> PeerConnection::create_answer() {
  auto& s = *impl_;
  if (s.closed) return error_code(Errc::InvalidState);
  if (s.signaling != SignalingState::HaveRemoteOffer &&
      s.signaling != SignalingState::HaveLocalPranswer)
    return error_code(Errc::InvalidState);
  auto answer = s.build_answer();
  if (!answer) return answer.error();
  return Description{DescriptionType::Answer, to_string(s.with_candidates(*answer))};
}

result<void> PeerConnection::set_local_description(TimePoint now, const Description& d) {
  auto& s = *impl_;
  if (s.closed) return error_code(Errc::InvalidState);
  if (d.type == DescriptionType::Rollback) {
    if (s.signaling != SignalingState::HaveLocalOffer) return error_code(Errc::InvalidState);
    s.rollback();
    return {};
  }
  auto sdp = parse_sdp(d.sdp);
  if (!sdp) return sdp.error();
  auto r = s.apply_local(now, d.type, std::move(*sdp));
  s.pump(now);
  return r;
}

result<void> PeerConnection::set_remote_description(TimePoint now, const Description& d) {
  auto& s = *impl_;
  if (s.closed) return error_code(Errc::InvalidState);
  if (d.type == DescriptionType::Rollback) {
    if (s.signaling != SignalingState::HaveRemoteOffer) return error_code(Errc::InvalidState);
    s.rollback();
    return {};
  }
  auto sdp = parse_sdp(d.sdp);
  if (!sdp) return sdp.error();
  auto r = s.apply_remote(now, d.type, std::move(*sdp));
  s.pump(now);
  return r;
}

result<void> PeerConnection::add_remote_candidate(TimePoint now, std::string_view candidate,
                                                  std::string_view mid) {
  auto& s = *impl_;
  if (s.closed) return error_code(Errc::InvalidState);
  if (!mid.empty() && mid != s.data_mid) return {}; // another (rejected) m= section
  if (candidate.empty()) {
    s.remote_gathering_done(now);
    s.pump(now);
    return {};
  }
  auto c = ice::Candidate::parse(candidate);
  if (!c) return c.error();
  if (!s.current_remote && !s.pending_remote) {
    if (s.early_candidates.size() >= kMaxEarlyCandidates)
      return error_code(Errc::TooManyCandidates);
    s.early_candidates.push_back(std::move(*c));
    return {};
  }
  s.add_remote(now, *c);
  s.pump(now);
  return {};
}

std::optional<Description> PeerConnection::local_description() const {
  const auto& s = *impl_;
  const auto& local = s.pending_local ? s.pending_local : s.current_local;
  if (!local) return std::nullopt;
  const auto type = s.pending_local ? (s.signaling == SignalingState::HaveLocalPranswer
                                           ? DescriptionType::Pranswer
                                           : DescriptionType::Offer)
                                    : s.current_local_type.value_or(DescriptionType::Offer);
  return Description{type, to_string(s.with_candidates(*local))};
}

bool PeerConnection::is_gathering_complete() const noexcept {
  return impl_->gathering_complete;
}

void PeerConnection::restart_ice(TimePoint now) {
  auto& s = *impl_;
  if (s.closed) return;
  s.agent.restart(now);
  s.local_candidates.clear();
  s.gathering_complete = false;
  s.pump(now);
}

std::size_t PeerConnection::remote_max_message_size() const noexcept {
  return impl_->remote_max_message_size;
}

SignalingState PeerConnection::signaling_state() const noexcept {
  return impl_->signaling;
}
ConnectionState PeerConnection::connection_state() const noexcept {
  return impl_->connection;
}
ice::IceState PeerConnection::ice_state() const noexcept {
  return impl_->agent.state();
}
const ice::IceCredentials& PeerConnection::local_ice_credentials() const noexcept {
  return impl_->agent.local_credentials();
}
std::optional<ice::SelectedPair> PeerConnection::selected_pair() const {
  return impl_->agent.selected_pair();
}
const PeerConnectionStats& PeerConnection::stats() const noexcept {
  return impl_->stats;
}

// ---------------------------------------------------------------------------------------------

void PeerConnection::Impl::set_signaling(SignalingState s) {
  if (signaling == s) return;
  signaling = s;
  events.push_back(event::SignalingStateChanged{s});
}

result<void> PeerConnection::Impl::apply_local(TimePoint now, DescriptionType type,
                                               SessionDescription sdp) {
  const auto* data = data_section(sdp);
  switch (type) {
  case DescriptionType::Offer:
    if (signaling != SignalingState::Stable && signaling != SignalingState::HaveLocalOffer)
      return error_code(Errc::InvalidState);
    if (!data) return error_code(Errc::NoDataChannelSection);
    data_mid = data->mid;
    // RFC 8445 §6.1.1 with JSEP §5.2.1: the offerer starts as controlling.
    if (!current_remote) agent.set_role(ice::Role::Controlling);
    pending_local = std::move(sdp);
    set_signaling(SignalingState::HaveLocalOffer);
    break;
  case DescriptionType::Pranswer:
  case DescriptionType::Answer:
    if (signaling != SignalingState::HaveRemoteOffer &&
        signaling != SignalingState::HaveLocalPranswer)
      return error_code(Errc::InvalidState);
    if (type == DescriptionType::Pranswer) {
      pending_local = std::move(sdp);
      set_signaling(SignalingState::HaveLocalPranswer);
      break;
    }
    current_local = std::move(sdp);
    current_local_type = DescriptionType::Answer;
    current_remote = std::move(pending_remote);
    pending_local.reset();
    pending_remote.reset();
    set_signaling(SignalingState::Stable);
    on_negotiation_complete(now);
    break;
  case DescriptionType::Rollback: break;
  }
  if (!gathering_started) {
    gathering_started = true;
    agent.gather(now);
  }
  return {};
}

result<void> PeerConnection::Impl::apply_remote(TimePoint now, DescriptionType type,
                                                SessionDescription sdp) {
  const auto* data = data_section(sdp);
  if (type == DescriptionType::Offer) {
    if (signaling == SignalingState::HaveLocalOffer) rollback(); // W3C implicit rollback
    if (signaling != SignalingState::Stable && signaling != SignalingState::HaveRemoteOffer)
      return error_code(Errc::InvalidState);
  } else if (signaling != SignalingState::HaveLocalOffer &&
             signaling != SignalingState::HaveRemotePranswer) {
    return error_code(Errc::InvalidState);
  }
  if (!data) {
    if (type != DescriptionType::Offer) return error_code(Errc::NoDataChannelSection);
    // An offer without a data channel is answered with every section rejected.
    pending_remote = std::move(sdp);
    set_signaling(SignalingState::HaveRemoteOffer);
    return {};
  }
  auto ufrag = sdp.effective_ufrag(*data);
  auto pwd = sdp.effective_pwd(*data);
  auto fingerprint = sdp.effective_fingerprint(*data);
  if (!ufrag || !pwd) return error_code(Errc::MissingIceCredentials);
  if (!fingerprint) return error_code(Errc::MissingFingerprint);
  auto parsed_fp = dtls::Fingerprint::parse(fingerprint->algorithm + " " + fingerprint->value);
  if (!parsed_fp) return parsed_fp.error();
  if (remote_fingerprint && !dtls::fingerprints_equal(*remote_fingerprint, *parsed_fp) &&
      dtls_started) {
    return error_code(Errc::FingerprintChanged); // renegotiating the DTLS identity: not allowed
  }
  remote_fingerprint = *parsed_fp;
  remote_sctp_port = data->sctp_port_or_default();
  remote_max_message_size = data->max_message_size_or_default();

  if (type == DescriptionType::Offer) {
    data_mid = data->mid;
    if (!current_local) agent.set_role(ice::Role::Controlled);
  }
  // A changed ufrag is a remote ICE restart; JSEP §5.3.1: answer with new credentials too.
  const bool remote_restart = (current_remote || pending_remote) &&
                              type == DescriptionType::Offer && agent.has_remote_credentials() &&
                              !agent.remote_credentials_equal(*ufrag, *pwd);
  if (remote_restart) {
    agent.restart(now);
    local_candidates.clear();
    gathering_complete = false;
  }
  agent.set_remote_credentials(now, *ufrag, *pwd);
  for (const auto& c : data->candidates)
    add_remote(now, c);
  if (data->end_of_candidates) remote_gathering_done(now);
  for (const auto& c : early_candidates)
    add_remote(now, c);
  early_candidates.clear();

  if (type == DescriptionType::Offer) {
    pending_remote = std::move(sdp);
    set_signaling(SignalingState::HaveRemoteOffer);
  } else if (type == DescriptionType::Pranswer) {
    pending_remote = std::move(sdp);
    set_signaling(SignalingState::HaveRemotePranswer);
  } else {
    current_remote = std::move(sdp);
    current_local = std::move(pending_local);
    current_local_type = DescriptionType::Offer;
    pending_local.reset();
    pending_remote.reset();
    set_signaling(SignalingState::Stable);
    on_negotiation_complete(now);
  }
  return {};
}

void PeerConnection::Impl::rollback() {
  pending_local.reset();
  pending_remote.reset();
  set_signaling(SignalingState::Stable);
}

// RFC 8842 §5.1 (a=setup): the answerer picks. We answer "active" (we start the handshake),
// as browsers do, unless the offerer insisted on being active.
void PeerConnection::Impl::on_negotiation_complete(TimePoint now) {
  if (dtls_role || !current_local || !current_remote) return;
  const auto* local = data_section(*current_local);
  const auto* remote = data_section(*current_remote);
  if (!local || !remote) return;
  const auto local_setup = current_local->effective_setup(*local).value_or(SetupRole::ActPass);
  const auto remote_setup = current_remote->effective_setup(*remote).value_or(SetupRole::ActPass);
  if (current_local_type == DescriptionType::Answer) {
    dtls_role = local_setup == SetupRole::Passive ? dtls::Role::Server : dtls::Role::Client;
  } else {
    dtls_role = remote_setup == SetupRole::Passive ? dtls::Role::Client : dtls::Role::Server;
  }
  start_dtls(now);
}

} // namespace posthorn::rtc
