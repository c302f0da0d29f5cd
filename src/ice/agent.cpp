#include "ice/agent.hpp"

#include "core/log.hpp"
#include "ice/agent_impl.hpp"
#include "ice/errc.hpp"

#include <algorithm>

namespace posthorn::ice {
namespace {

// RFC 8839 §5.4 ice-char = ALPHA / DIGIT / "+" / "/"
constexpr std::string_view kIceChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool is_terminal(IceState s) {
  return s == IceState::Failed || s == IceState::Closed;
}

} // namespace

std::string_view to_string(IceState s) noexcept {
  switch (s) {
  case IceState::New: return "new";
  case IceState::Checking: return "checking";
  case IceState::Connected: return "connected";
  case IceState::Completed: return "completed";
  case IceState::Disconnected: return "disconnected";
  case IceState::Failed: return "failed";
  case IceState::Closed: return "closed";
  }
  return "?";
}

std::string_view to_string(IceTransportPolicy p) noexcept {
  return p == IceTransportPolicy::Relay ? "relay" : "all";
}

IceCredentials IceCredentials::generate(Rng& rng) {
  return {rng.string(8, kIceChars), rng.string(24, kIceChars)};
}

Agent::Impl::Impl(AgentConfig c, Rng& r)
    : config(std::move(c)), rng(r),
      local_creds(config.credentials ? *config.credentials : IceCredentials::generate(r)),
      role(config.role), tie_breaker(r.next_u64()) {
  // A TURN server entry that cannot work (no port, no username) is the caller's mistake: say so
  // now, with TurnClient's message, rather than at gather().
  for (const auto& server : config.turn_servers)
    TurnClient check(server, rng);
}

Agent::Agent(AgentConfig config, Rng& rng)
    : impl_(std::make_unique<Impl>(std::move(config), rng)) {}
Agent::~Agent() = default;

const IceCredentials& Agent::local_credentials() const noexcept {
  return impl_->local_creds;
}
IceState Agent::state() const noexcept {
  return impl_->state;
}
Role Agent::role() const noexcept {
  return impl_->role;
}
const AgentStats& Agent::stats() const noexcept {
  return impl_->stats;
}
std::size_t Agent::pair_count() const noexcept {
  return impl_->pairs.size();
}

void Agent::add_local_socket(const SocketAddress& address) {
  if (impl_->find_base(address)) return;
  impl_->bases.push_back({.address = address, .candidate = {}});
}

void Agent::gather(TimePoint now) {
  impl_->last_now = now;
  impl_->gather(now);
  impl_->update_liveness(now);
}

void Agent::set_remote_credentials(TimePoint now, std::string ufrag, std::string pwd) {
  auto& s = *impl_;
  if (s.remote_creds && s.remote_creds->ufrag == ufrag && s.remote_creds->pwd == pwd) return;
  if (s.remote_creds) {
    // RFC 8445 §9: the peer restarted ICE. Keep data on the old pair until a new one is valid.
    s.previous_selection = selected_pair();
    s.reset_checks();
  }
  s.remote_creds = IceCredentials{std::move(ufrag), std::move(pwd)};
  // Checks triggered by requests that arrived before we knew the password can go out now.
  s.maybe_send_paced_check(now);
}

bool Agent::has_remote_credentials() const noexcept {
  return impl_->remote_creds.has_value();
}

bool Agent::remote_credentials_equal(std::string_view ufrag, std::string_view pwd) const noexcept {
  const auto& r = impl_->remote_creds;
  return r && r->ufrag == ufrag && r->pwd == pwd;
}

void Agent::set_role(Role role) {
  impl_->role = role;
}

bool Agent::add_remote_candidate(TimePoint now, const Candidate& candidate) {
  auto& s = *impl_;
  if (s.closed || candidate.component != 1 || candidate.transport != TransportProtocol::Udp)
    return false;
  if (auto ufrag = candidate.extension("ufrag");
      ufrag && s.remote_creds && *ufrag != s.remote_creds->ufrag) {
    return false; // a candidate of an older generation (trickled across an ICE restart)
  }
  auto address = candidate.socket_address();
  if (!address) return false; // mDNS names are resolved by the caller before reaching here
  for (auto& r : s.remotes) {
    if (r.address == *address) {
      // We learnt it as peer-reflexive first (§7.3.1.3); the signalled candidate wins.
      r.candidate = candidate;
      for (auto& p : s.pairs) {
        if (p.remote == *address) {
          p.remote_priority = candidate.priority;
          p.remote_type = candidate.type;
        }
      }
      return true;
    }
  }
  s.last_now = now;
  s.remotes.push_back({candidate, *address});
  // RFC 8656 §9: let the peer's checks through our relays before we send anything to it.
  s.add_turn_permissions(now, address->ip());
  s.form_pairs_for_remote(s.remotes.size() - 1);
  if (s.state == IceState::New) s.set_state(IceState::Checking);
  if (!s.checking_since) s.checking_since = now;
  s.maybe_send_paced_check(now);
  return true;
}

void Agent::set_remote_gathering_complete(TimePoint now) {
  impl_->remote_gathering_complete = true;
  impl_->update_liveness(now);
}

void Agent::restart(TimePoint now) {
  auto& s = *impl_;
  if (s.closed) return;
  s.previous_selection = selected_pair();
  s.reset_checks();
  s.remote_creds.reset();
  s.local_creds = IceCredentials::generate(s.rng);
  s.srflx.clear();
  s.last_now = now;
  s.gather(now);
  s.update_liveness(now);
}

void Agent::close(TimePoint now) {
  auto& s = *impl_;
  if (s.closed) return;
  s.last_now = std::max(s.last_now, now);
  s.close_turn(s.last_now);
  s.closed = true;
  s.transactions.clear();
  s.triggered.clear();
  s.relayed_in.clear();
  s.set_state(IceState::Closed);
}

void Agent::close() {
  close(impl_->last_now);
}

void Agent::handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& remote,
                            ByteView data) {
  auto& s = *impl_;
  if (s.closed) return;
  s.last_now = now;
  auto base = s.find_base(local);
  // Relayed bases only receive through their TURN client (handle_turn_bytes), never a socket.
  if (!base || s.bases[*base].is_relayed()) {
    ++s.stats.dropped_malformed;
    return;
  }
  if (s.relay_only()) {
    // W3C iceTransportPolicy "relay": host sockets are not candidates; answering a check here
    // would reveal the address the policy hides.
    ++s.stats.dropped_by_policy;
    return;
  }
  s.handle_stun(now, *base, remote, data);
  s.after_input(now);
}

void Agent::note_inbound_data(TimePoint now, const SocketAddress& local,
                              const SocketAddress& remote) {
  // Only the pair the data arrived on is alive: data from a new (peer-reflexive) address must
  // not make a dead selected pair look healthy.
  auto& s = *impl_;
  auto base = s.find_base(local);
  if (!base) return;
  if (auto i = s.find_pair(*base, remote)) s.pairs[*i].last_activity = now;
}

void Agent::handle_timeout(TimePoint now) {
  auto& s = *impl_;
  if (s.closed) return;
  s.last_now = now;
  s.turn_timeouts(now);
  s.retransmit(now);
  s.maybe_send_paced_check(now);
  s.update_nomination(now);
  s.update_selection(now);
  s.update_liveness(now);
}

std::optional<Transmit> Agent::poll_transmit() {
  auto& q = impl_->transmits;
  if (q.empty()) return std::nullopt;
  Transmit t = std::move(q.front());
  q.pop_front();
  return t;
}

std::optional<Event> Agent::poll_event() {
  auto& q = impl_->events;
  if (q.empty()) return std::nullopt;
  Event e = std::move(q.front());
  q.pop_front();
  return e;
}

std::optional<RelayedDatagram> Agent::poll_relayed() {
  auto& q = impl_->relayed_in;
  if (q.empty()) return std::nullopt;
  RelayedDatagram d = std::move(q.front());
  q.pop_front();
  return d;
}

std::optional<CandidateError> Agent::poll_candidate_error() {
  auto& q = impl_->candidate_errors;
  if (q.empty()) return std::nullopt;
  CandidateError e = std::move(q.front());
  q.pop_front();
  return e;
}

std::optional<TimePoint> Agent::poll_timeout() const {
  return impl_->next_deadline();
}

std::optional<SelectedPair> Agent::selected_pair() const {
  const auto& s = *impl_;
  if (!s.selected) return s.previous_selection;
  const auto& p = s.pairs[*s.selected];
  return SelectedPair{s.bases[p.base].address, p.remote, s.bases[p.base].candidate.type,
                      p.remote_type, p.nominated};
}

bool Agent::is_permitted_source(const SocketAddress& local, const SocketAddress& remote) const {
  const auto& s = *impl_;
  auto base = s.find_base(local);
  if (!base || s.bases[*base].dead) return false;
  // Any pair that is not failed will do: the remote is a signalled candidate or answered an
  // authenticated check. DTLS may legitimately arrive before our own check on that pair has
  // succeeded (the peer's check succeeded first), and DTLS authenticates itself by fingerprint.
  if (auto i = s.find_pair(*base, remote); i && s.pairs[*i].state != PairState::Failed) return true;
  return s.previous_selection && s.previous_selection->local == local &&
         s.previous_selection->remote == remote;
}

// ---------------------------------------------------------------------------------------------

void Agent::Impl::handle_stun(TimePoint now, std::size_t base, const SocketAddress& remote,
                              ByteView data) {
  auto msg = StunMessage::decode(data);
  if (!msg) {
    ++stats.dropped_malformed;
    return;
  }
  switch (msg->cls()) {
  case StunClass::Request:
    if (msg->method_code() == static_cast<std::uint16_t>(StunMethod::Binding))
      handle_request(now, base, remote, *msg);
    break;
  case StunClass::SuccessResponse:
  case StunClass::ErrorResponse: handle_response(now, base, remote, *msg); break;
  case StunClass::Indication: break; // RFC 8445 §11 keepalive; nothing to do
  }
}

void Agent::Impl::after_input(TimePoint now) {
  update_nomination(now);
  update_selection(now);
  update_liveness(now);
}

void Agent::Impl::set_state(IceState s) {
  if (state == s) return;
  state = s;
  events.push_back(event::StateChanged{s});
}

void Agent::Impl::set_role(Role r) {
  if (role == r) return;
  role = r;
  events.push_back(event::RoleChanged{r});
}

// RFC 8445 §6.1.2.3: pair priority = 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), where G is the
// controlling agent's candidate priority.
std::uint64_t Agent::Impl::pair_priority(const CandidatePair& p) const {
  const std::uint64_t g = role == Role::Controlling ? p.local_priority : p.remote_priority;
  const std::uint64_t d = role == Role::Controlling ? p.remote_priority : p.local_priority;
  return (std::min(g, d) << 32) + 2 * std::max(g, d) + (g > d ? 1 : 0);
}

std::optional<std::size_t> Agent::Impl::find_base(const SocketAddress& address) const {
  for (std::size_t i = 0; i < bases.size(); ++i) {
    if (bases[i].address == address) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> Agent::Impl::find_pair(std::size_t base,
                                                  const SocketAddress& remote) const {
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (pairs[i].base == base && pairs[i].remote == remote) return i;
  }
  return std::nullopt;
}

std::size_t Agent::Impl::find_or_add_pair(std::size_t base, const RemoteCandidate& remote) {
  if (auto i = find_pair(base, remote.address)) return *i;
  CandidatePair p;
  p.base = base;
  p.remote = remote.address;
  p.local_priority = bases[base].candidate.priority;
  p.remote_priority = remote.candidate.priority;
  p.remote_type = remote.candidate.type;
  p.foundation = bases[base].candidate.foundation + ":" + remote.candidate.foundation;
  // RFC 8445 §6.1.2.6: the first pair of each foundation starts Waiting, the rest Frozen.
  const bool foundation_seen = std::any_of(pairs.begin(), pairs.end(), [&](const auto& q) {
    return q.foundation == p.foundation && q.state != PairState::Failed;
  });
  p.state = foundation_seen ? PairState::Frozen : PairState::Waiting;
  pairs.push_back(std::move(p));
  return pairs.size() - 1;
}

// Whether a base takes part in pairing: not dead, gathered (it has a candidate), and allowed by
// the transport policy (W3C "relay": relayed bases only).
bool Agent::Impl::pairable(std::size_t base) const {
  const auto& b = bases[base];
  if (b.dead || b.candidate.foundation.empty()) return false;
  return !relay_only() || b.is_relayed();
}

// RFC 8445 §6.1.2.2: pair local bases with remote candidates of the same address family.
// Server-reflexive local candidates are never paired: their pairs would be redundant with the
// host base's pairs (§6.1.2.4).
void Agent::Impl::form_pairs_for_remote(std::size_t remote_index) {
  const auto& remote = remotes[remote_index];
  // A loopback base only pairs with loopback remotes and vice versa: checks between them
  // cannot work and would only delay failure.
  for (std::size_t b = 0; b < bases.size(); ++b) {
    if (!pairable(b)) continue;
    const auto& base = bases[b].address;
    if (base.family() != remote.address.family()) continue;
    if (base.ip().is_loopback() != remote.address.ip().is_loopback()) continue;
    find_or_add_pair(b, remote);
  }
}

TransactionId Agent::Impl::new_transaction_id() {
  TransactionId id;
  rng.fill(id);
  return id;
}

void Agent::Impl::send_check(TimePoint now, std::size_t pair_index, bool use_candidate,
                             TransactionKind kind) {
  auto& p = pairs[pair_index];
  // RFC 8445 §7.2.2: USERNAME "remote:local", PRIORITY of a would-be peer-reflexive candidate,
  // the role attribute with our tie-breaker, USE-CANDIDATE when nominating; short-term
  // MESSAGE-INTEGRITY keyed with the remote password, and FINGERPRINT.
  Transaction t;
  t.id = new_transaction_id();
  t.kind = kind;
  t.pair = pair_index;
  t.base = p.base;
  t.remote = p.remote;
  t.use_candidate = use_candidate;
  t.role_at_send = role;
  StunMessage req(StunClass::Request, StunMethod::Binding, t.id);
  req.add_string(stun_attr::kUsername, remote_creds->ufrag + ":" + local_creds.ufrag);
  req.add_u32(stun_attr::kPriority,
              compute_priority(type_preference(CandidateType::PeerReflexive),
                               (bases[p.base].candidate.priority >> 8) & 0xFFFF, 1));
  if (role == Role::Controlling) {
    req.add_u64(stun_attr::kIceControlling, tie_breaker);
    if (use_candidate) req.add_flag(stun_attr::kUseCandidate);
  } else {
    req.add_u64(stun_attr::kIceControlled, tie_breaker);
  }
  t.request = req.encode(as_bytes(remote_creds->pwd), true);
  t.transmissions = 1;
  t.max_transmissions = config.timing.check_max_transmissions;
  t.rto = config.timing.check_rto;
  t.next_retransmit = now + t.rto;
  POSTHORN_LOG(Trace, "ice", "check sent", use_candidate ? " (USE-CANDIDATE)" : "");
  const std::size_t base = p.base;
  const SocketAddress remote = p.remote;
  Bytes request = t.request;
  if (kind == TransactionKind::Check && p.state != PairState::Succeeded)
    p.state = PairState::InProgress;
  ++stats.checks_sent;
  transactions.push_back(std::move(t));
  send_from(now, base, remote, std::move(request));
}

// RFC 8445 §6.1.4.2: one new check per Ta — the triggered queue first, then the highest-priority
// Waiting pair, then unfreeze the highest-priority Frozen one.
void Agent::Impl::maybe_send_paced_check(TimePoint now) {
  if (closed || !remote_creds || now < next_check_at) return;
  std::optional<std::size_t> chosen;
  while (!triggered.empty() && !chosen) {
    std::size_t i = triggered.front();
    triggered.pop_front();
    pairs[i].in_triggered_queue = false;
    if (bases[pairs[i].base].dead) continue; // its TURN allocation is gone
    chosen = i;
  }
  auto best_in = [&](PairState st) -> std::optional<std::size_t> {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      if (pairs[i].state != st) continue;
      if (!best || pair_priority(pairs[i]) > pair_priority(pairs[*best])) best = i;
    }
    return best;
  };
  if (!chosen) chosen = best_in(PairState::Waiting);
  if (!chosen) chosen = best_in(PairState::Frozen);
  if (!chosen) return;
  // A nominating controlling agent re-sends with USE-CANDIDATE on the pair it picked.
  const bool use_candidate = role == Role::Controlling && pairs[*chosen].nominating;
  send_check(now, *chosen, use_candidate, TransactionKind::Check);
  next_check_at = now + config.timing.pacing;
}

void Agent::Impl::send_error(TimePoint now, std::size_t base, const SocketAddress& remote,
                             const StunMessage& request, std::uint16_t code,
                             std::string_view reason, bool with_integrity) {
  StunMessage resp(StunClass::ErrorResponse, StunMethod::Binding, request.transaction_id());
  resp.add_error(code, reason);
  auto key = as_bytes(local_creds.pwd);
  send_from(now, base, remote,
            resp.encode(with_integrity ? std::optional<ByteView>(key) : std::nullopt, true));
}

// RFC 8445 §7.3: answer a connectivity check, then learn from it.
void Agent::Impl::handle_request(TimePoint now, std::size_t base, const SocketAddress& remote,
                                 const StunMessage& msg) {
  ++stats.checks_received;
  POSTHORN_LOG(Trace, "ice", "check received");
  auto username = msg.string(stun_attr::kUsername);
  if (!username || !msg.has_integrity()) {
    send_error(now, base, remote, msg, 400, "Bad Request", false); // RFC 8489 §9.1.3
    return;
  }
  auto colon = username->find(':');
  if (colon == std::string_view::npos || username->substr(0, colon) != local_creds.ufrag ||
      !msg.check_integrity(as_bytes(local_creds.pwd))) {
    ++stats.dropped_bad_integrity;
    send_error(now, base, remote, msg, 401, "Unauthorized", false);
    return;
  }
  if (auto unknown = msg.unknown_required_attributes(); !unknown.empty()) {
    StunMessage resp(StunClass::ErrorResponse, StunMethod::Binding, msg.transaction_id());
    resp.add_error(420, "Unknown Attribute");
    ByteWriter w;
    for (auto type : unknown)
      w.u16(type);
    resp.add(stun_attr::kUnknownAttributes, w.view());
    send_from(now, base, remote, resp.encode(as_bytes(local_creds.pwd), true));
    return;
  }

  // RFC 8445 §7.3.1.1: role conflict, resolved by comparing tie-breakers.
  const auto their_controlling = msg.u64(stun_attr::kIceControlling);
  const auto their_controlled = msg.u64(stun_attr::kIceControlled);
  if (role == Role::Controlling && their_controlling) {
    ++stats.role_conflicts;
    if (tie_breaker >= *their_controlling) {
      send_error(now, base, remote, msg, 487, "Role Conflict", true);
      return;
    }
    set_role(Role::Controlled);
  } else if (role == Role::Controlled && their_controlled) {
    ++stats.role_conflicts;
    if (tie_breaker >= *their_controlled) {
      set_role(Role::Controlling);
    } else {
      send_error(now, base, remote, msg, 487, "Role Conflict", true);
      return;
    }
  }

  StunMessage resp(StunClass::SuccessResponse, StunMethod::Binding, msg.transaction_id());
  resp.add_xor_address(stun_attr::kXorMappedAddress, remote);
  send_from(now, base, remote, resp.encode(as_bytes(local_creds.pwd), true));

  // RFC 8445 §7.3.1.3: an unknown source is a peer-reflexive remote candidate.
  std::size_t remote_index = remotes.size();
  for (std::size_t i = 0; i < remotes.size(); ++i) {
    if (remotes[i].address == remote) remote_index = i;
  }
  if (remote_index == remotes.size()) {
    Candidate c;
    c.foundation = "prflx" + std::to_string(remotes.size());
    c.priority = msg.u32(stun_attr::kPriority).value_or(0);
    c.address = remote.ip().to_string();
    c.port = remote.port();
    c.type = CandidateType::PeerReflexive;
    remotes.push_back({std::move(c), remote});
    add_turn_permissions(now, remote.ip());
  }
  if (!checking_since) checking_since = now;
  if (state == IceState::New) set_state(IceState::Checking);

  const std::size_t pi = find_or_add_pair(base, remotes[remote_index]);
  auto& p = pairs[pi];
  p.last_activity = now;
  const bool use_candidate = msg.has(stun_attr::kUseCandidate);

  // RFC 8445 §7.3.1.4: triggered checks.
  if (p.state != PairState::Succeeded && !p.in_triggered_queue) {
    if (p.state == PairState::Failed) p.state = PairState::Waiting;
    triggered.push_back(pi);
    p.in_triggered_queue = true;
  }
  // RFC 8445 §7.3.1.5: the controlling peer nominated this pair.
  if (use_candidate && role == Role::Controlled) {
    if (p.state == PairState::Succeeded) {
      p.nominated = true;
    } else {
      p.nominate_on_success = true;
    }
  }
  maybe_send_paced_check(now);
}

void Agent::Impl::handle_response(TimePoint now, std::size_t base, const SocketAddress& remote,
                                  const StunMessage& msg) {
  auto it = std::find_if(transactions.begin(), transactions.end(),
                         [&](const Transaction& t) { return t.id == msg.transaction_id(); });
  if (it == transactions.end()) {
    ++stats.dropped_unknown_transaction;
    return;
  }
  ++stats.responses_received;
  POSTHORN_LOG(Trace, "ice", "response received");
  Transaction t = std::move(*it);
  if (t.kind == TransactionKind::Gather) {
    transactions.erase(it);
    on_gather_response(t, msg);
    on_gather_finished(now);
    return;
  }
  // Responses to checks are authenticated with the remote password (RFC 8445 §7.2.5.1); a
  // forged or corrupted one is dropped and the transaction keeps retransmitting.
  if (!remote_creds || !msg.check_integrity(as_bytes(remote_creds->pwd))) {
    ++stats.dropped_bad_integrity;
    return;
  }
  transactions.erase(it);
  on_check_response(now, t, remote, base, msg);
}

void Agent::Impl::on_check_response(TimePoint now, const Transaction& t, const SocketAddress& from,
                                    std::size_t base, const StunMessage& msg) {
  if (t.pair >= pairs.size()) return;
  auto& p = pairs[t.pair];
  // RFC 8445 §7.2.5.2.1: non-symmetric addresses fail the check.
  if (from != t.remote || base != t.base) {
    on_check_failed(now, t.pair);
    return;
  }
  if (msg.cls() == StunClass::ErrorResponse) {
    auto ec = msg.error_code();
    if (ec && ec->code == 487) {
      // RFC 8445 §7.2.5.1: switch role (unless a conflict already switched it) and retry.
      ++stats.role_conflicts;
      if (role == t.role_at_send)
        set_role(role == Role::Controlling ? Role::Controlled : Role::Controlling);
      p.state = PairState::Waiting;
      if (!p.in_triggered_queue) {
        triggered.push_back(t.pair);
        p.in_triggered_queue = true;
      }
      return;
    }
    on_check_failed(now, t.pair);
    return;
  }
  p.last_response = now;
  p.last_activity = now;
  if (t.kind == TransactionKind::Consent) return;
  const bool newly_valid = p.state != PairState::Succeeded;
  p.state = PairState::Succeeded;
  if (!first_success_at) first_success_at = now;
  if ((t.use_candidate && role == Role::Controlling) ||
      (p.nominate_on_success && role == Role::Controlled)) {
    p.nominated = true;
  }
  if (newly_valid) unfreeze_foundation(p.foundation);
}

void Agent::Impl::on_check_failed(TimePoint now, std::size_t pair) {
  auto& p = pairs[pair];
  if (p.state == PairState::Succeeded && selected == pair) {
    // A check on the selected pair failing is consent loss territory; update_liveness decides.
    return;
  }
  p.state = PairState::Failed;
  p.nominated = false;
  p.nominating = false;
  ++stats.pairs_failed;
  (void)now;
}

// RFC 8445 §7.2.5.3.3: success on a pair unfreezes the pairs sharing its foundation.
void Agent::Impl::unfreeze_foundation(const std::string& foundation) {
  for (auto& q : pairs) {
    if (q.state == PairState::Frozen && q.foundation == foundation) q.state = PairState::Waiting;
  }
}

// RFC 8445 §8.1.1 regular nomination by the controlling agent.
void Agent::Impl::update_nomination(TimePoint now) {
  if (role != Role::Controlling || !remote_creds || !first_success_at) return;
  const bool any_nominated = std::any_of(pairs.begin(), pairs.end(),
                                         [](const auto& p) { return p.nominated || p.nominating; });
  if (any_nominated) return;
  std::optional<std::size_t> best_valid;
  std::optional<std::size_t> best_pending;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& p = pairs[i];
    if (p.state == PairState::Succeeded) {
      if (!best_valid || pair_priority(p) > pair_priority(pairs[*best_valid])) best_valid = i;
    } else if (p.state != PairState::Failed) {
      if (!best_pending || pair_priority(p) > pair_priority(pairs[*best_pending])) best_pending = i;
    }
  }
  if (!best_valid) return;
  const bool nothing_better_pending =
      !best_pending || pair_priority(pairs[*best_pending]) < pair_priority(pairs[*best_valid]);
  if (!nothing_better_pending && now < *first_success_at + config.timing.nomination_delay) return;
  // The pair is nominated once this USE-CANDIDATE check succeeds (on_check_response).
  pairs[*best_valid].nominating = true;
  send_check(now, *best_valid, true, TransactionKind::Check);
}

void Agent::Impl::update_selection(TimePoint now) {
  std::optional<std::size_t> best;
  auto better = [&](std::size_t i) {
    const auto& p = pairs[i];
    if (p.state != PairState::Succeeded) return false;
    if (!best) return true;
    const auto& b = pairs[*best];
    // A nominated pair beats any non-nominated one (RFC 8445 §8.1.1); then priority.
    if (p.nominated != b.nominated) return p.nominated;
    return pair_priority(p) > pair_priority(b);
  };
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (better(i)) best = i;
  }
  if (!best) return;
  selected = best;
  previous_selection.reset();
  const auto& best_base = bases[pairs[*best].base];
  auto current = SelectedPair{best_base.address, pairs[*best].remote, best_base.candidate.type,
                              pairs[*best].remote_type, pairs[*best].nominated};
  if (announced_selection != current) {
    announced_selection = current;
    events.push_back(event::SelectedPairChanged{current});
    next_consent_at = now + config.timing.consent_interval;
  }
  if (!is_terminal(state)) {
    set_state(current.nominated ? IceState::Completed : IceState::Connected);
  }
}

// Consent freshness (RFC 7675), Disconnected detection, and overall failure.
void Agent::Impl::update_liveness(TimePoint now) {
  if (closed || is_terminal(state)) return;
  if (relay_only() && gathered_once && !gathering && !selected && !previous_selection) {
    const bool any_relay = std::any_of(
        bases.begin(), bases.end(), [](const LocalBase& b) { return b.is_relayed() && !b.dead; });
    if (!any_relay) {
      // W3C iceTransportPolicy "relay" with no relayed candidate: nothing can ever connect, so
      // say so now rather than after connect_timeout (poll_candidate_error() says why).
      POSTHORN_LOG(Info, "ice", "no relayed candidate under iceTransportPolicy relay: failed");
      set_state(IceState::Failed);
      transactions.clear();
      return;
    }
  }
  if (selected) {
    auto& p = pairs[*selected];
    if (now - p.last_response >= config.timing.consent_timeout) {
      POSTHORN_LOG(Info, "ice", "consent expired on the selected pair");
      set_state(IceState::Failed);
      transactions.clear();
      return;
    }
    const bool quiet =
        now - std::max(p.last_response, p.last_activity) >= config.timing.disconnected_timeout;
    if (quiet) {
      set_state(IceState::Disconnected);
    } else if (state == IceState::Disconnected) {
      set_state(p.nominated ? IceState::Completed : IceState::Connected);
    }
    if (now >= next_consent_at && remote_creds) {
      const bool consent_in_flight =
          std::any_of(transactions.begin(), transactions.end(), [&](const auto& t) {
            return t.kind == TransactionKind::Consent && t.pair == *selected;
          });
      if (!consent_in_flight) send_check(now, *selected, false, TransactionKind::Consent);
      // Randomize in [0.8, 1.2] × interval so peers do not synchronize (RFC 7675 §5.1).
      const auto base = config.timing.consent_interval;
      next_consent_at = now + base * 4 / 5 +
                        Duration(static_cast<Duration::rep>(
                            rng.next_double() * static_cast<double>(base.count()) * 0.4));
    }
    return;
  }
  if (previous_selection) {
    // Restart in progress: keep the old path until connect_timeout says otherwise.
    if (checking_since && now - *checking_since >= config.timing.connect_timeout) {
      previous_selection.reset();
      set_state(IceState::Failed);
    }
    return;
  }
  if (!checking_since) return;
  const bool all_failed = !pairs.empty() && std::all_of(pairs.begin(), pairs.end(), [](auto& p) {
    return p.state == PairState::Failed;
  });
  const bool nothing_pending = transactions.empty() && triggered.empty();
  if ((all_failed && remote_gathering_complete && nothing_pending) ||
      now - *checking_since >= config.timing.connect_timeout) {
    set_state(IceState::Failed);
    transactions.clear();
  }
}

void Agent::Impl::retransmit(TimePoint now) {
  for (std::size_t i = 0; i < transactions.size();) {
    auto& t = transactions[i];
    if (now < t.next_retransmit) {
      ++i;
      continue;
    }
    if (t.transmissions >= t.max_transmissions) {
      Transaction dead = std::move(t);
      transactions.erase(transactions.begin() + static_cast<std::ptrdiff_t>(i));
      if (dead.kind == TransactionKind::Check) on_check_failed(now, dead.pair);
      if (dead.kind == TransactionKind::Gather) on_gather_finished(now);
      continue;
    }
    ++t.transmissions;
    t.rto = std::min(t.rto * 2, config.timing.check_rto_max);
    t.next_retransmit = now + t.rto;
    send_from(now, t.base, t.remote, t.request);
    ++i;
  }
}

void Agent::Impl::reset_checks() {
  std::erase_if(transactions,
                [](const Transaction& t) { return t.kind != TransactionKind::Gather; });
  triggered.clear();
  pairs.clear();
  remotes.clear();
  selected.reset();
  announced_selection.reset();
  first_success_at.reset();
  remote_gathering_complete = false;
  checking_since.reset();
}

std::optional<TimePoint> Agent::Impl::next_deadline() const {
  if (closed) return std::nullopt;
  // TURN clients keep their allocations refreshed even after ICE failed: a restart may use them.
  std::optional<TimePoint> next = next_turn_deadline();
  if (is_terminal(state)) return next;
  auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& t : transactions)
    consider(t.next_retransmit);
  const bool has_work = !triggered.empty() || std::any_of(pairs.begin(), pairs.end(), [](auto& p) {
    return p.state == PairState::Waiting || p.state == PairState::Frozen;
  });
  if (has_work && remote_creds) consider(next_check_at);
  if (role == Role::Controlling && first_success_at) {
    const bool any_nominated = std::any_of(pairs.begin(), pairs.end(),
                                           [](auto& p) { return p.nominated || p.nominating; });
    if (!any_nominated) consider(*first_success_at + config.timing.nomination_delay);
  }
  if (selected) {
    const auto& p = pairs[*selected];
    consider(next_consent_at);
    consider(p.last_response + config.timing.consent_timeout);
    if (state != IceState::Disconnected)
      consider(std::max(p.last_response, p.last_activity) + config.timing.disconnected_timeout);
  } else if (checking_since) {
    consider(*checking_since + config.timing.connect_timeout);
  }
  return next;
}

} // namespace posthorn::ice
