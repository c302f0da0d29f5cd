// TURN inside the ICE agent (RFC 8656 with RFC 8445 §5.1.1.2): one TurnClient per configured
// server, each on its own link; relayed candidates and their bases; checks and data through the
// clients; permissions for remote candidates; release on close.
#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "ice/agent_impl.hpp"
#include "ice/turn_errc.hpp"

#include <boost/system/errc.hpp>

#include <algorithm>

namespace posthorn::ice {
namespace {

// Candidate errors the caller has not polled yet; beyond this the oldest are dropped and counted.
constexpr std::size_t kMaxCandidateErrors = 32;
// Relayed datagrams waiting for poll_relayed(); the driver drains after every input, so this is
// only reached by a driver that does not (then the oldest are dropped and counted).
constexpr std::size_t kMaxRelayedQueue = 4096;
// W3C RTCPeerConnectionIceErrorEvent.errorCode when the server gave no STUN error code (no
// answer, no connection, nothing to reach it from).
constexpr std::uint16_t kUnreachableCode = 701;

std::string turn_url(const TurnServerConfig& c) {
  return "turn:" + c.server.to_string() +
         (c.transport == TurnTransport::Tcp ? "?transport=tcp" : "?transport=udp");
}

bool same_server(const TurnServerConfig& a, const TurnServerConfig& b) {
  return a.server == b.server && a.transport == b.transport;
}

} // namespace

// --- Agent API ----------------------------------------------------------------------------------

void Agent::handle_turn_bytes(TimePoint now, TurnLinkId link, ByteView data) {
  auto& s = *impl_;
  if (s.closed) return;
  s.last_now = now;
  auto i = s.find_turn(link);
  if (!i || !s.turns[*i].client) return; // a retired link: its socket may still deliver
  auto& client = *s.turns[*i].client;
  if (client.config().transport == TurnTransport::Tcp) {
    client.handle_stream_bytes(now, data);
  } else {
    client.handle_datagram(now, data);
  }
  s.process_turn(now, *i);
  s.after_input(now);
}

void Agent::handle_turn_closed(TimePoint now, TurnLinkId link) {
  auto& s = *impl_;
  if (s.closed) return;
  s.last_now = now;
  auto i = s.find_turn(link);
  if (!i || !s.turns[*i].client) return;
  auto& client = *s.turns[*i].client;
  // UDP has no connection: an ICMP unreachable is decisive while allocating (nobody listens
  // there), and only a transient hiccup once an allocation exists.
  if (client.config().transport == TurnTransport::Udp && client.state() != TurnState::Allocating)
    return;
  client.handle_transport_closed(now);
  s.process_turn(now, *i);
  s.after_input(now);
}

result<void> Agent::send_relayed(TimePoint now, const SocketAddress& local,
                                 const SocketAddress& remote, ByteView data) {
  auto& s = *impl_;
  auto b = s.find_base(local);
  if (!b || !s.bases[*b].is_relayed()) return error_code(TurnErrc::NotAllocated);
  if (s.closed || s.bases[*b].dead) return error_code(TurnErrc::Closed);
  const std::size_t i = *s.bases[*b].turn;
  auto r = s.turns[i].client->send_to(now, remote, data);
  s.flush_turn_transmits(i);
  if (!r) ++s.stats.relayed_send_failures;
  return r;
}

const TurnClient* Agent::turn_client(TurnLinkId link) const {
  auto i = impl_->find_turn(link);
  return i ? impl_->turns[*i].client.get() : nullptr;
}

// --- Impl ---------------------------------------------------------------------------------------

std::optional<std::size_t> Agent::Impl::find_turn(TurnLinkId link) const {
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].link == link) return i;
  }
  return std::nullopt;
}

void Agent::Impl::start_turn(TimePoint now) {
  if (turns.empty()) {
    for (std::size_t s = 0; s < config.turn_servers.size(); ++s) {
      const auto& server = config.turn_servers[s];
      const bool duplicate =
          std::any_of(config.turn_servers.begin(), config.turn_servers.begin() + s,
                      [&](const TurnServerConfig& other) { return same_server(server, other); });
      if (duplicate) continue;
      turns.push_back({});
      start_turn_entry(now, turns.size() - 1, s);
    }
    return;
  }
  // ICE restart: live allocations carry on (gather() re-signals their candidates); failed ones
  // get another try on a fresh link, in the same slot.
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].failed) start_turn_entry(now, i, turns[i].server);
  }
}

void Agent::Impl::start_turn_entry(TimePoint now, std::size_t slot, std::size_t server) {
  const auto& cfg = config.turn_servers[server];
  TurnEntry entry;
  entry.link = next_link++;
  entry.server = server;
  std::optional<std::size_t> from;
  for (std::size_t b = 0; b < bases.size() && !from; ++b) {
    if (!bases[b].is_relayed() && server_reachable_from(bases[b].address, cfg.server)) from = b;
  }
  if (!from) {
    entry.pending = false;
    entry.failed = true;
    turns[slot] = std::move(entry);
    ++stats.turn_allocations_failed;
    report_candidate_error(
        server, kUnreachableCode,
        "no local address can reach the TURN server (address family or loopback mismatch)",
        make_error_code(boost::system::errc::network_unreachable));
    return;
  }
  entry.local = bases[*from].address;
  entry.client = std::make_unique<TurnClient>(cfg, rng);
  entry.client->start(now);
  turns[slot] = std::move(entry);
  POSTHORN_LOG(Debug, "ice", "TURN allocation started on ", redact(turn_url(cfg)));
  flush_turn_transmits(slot);
}

void Agent::Impl::flush_turn_transmits(std::size_t index) {
  auto& e = turns[index];
  if (!e.client) return;
  const auto& cfg = e.client->config();
  const TurnLink link{e.link, cfg.transport};
  while (auto bytes = e.client->poll_transmit())
    transmits.push_back({e.local, cfg.server, std::move(*bytes), link});
}

// Moves every TURN client's output into the agent: transmits first, then events (which may
// produce more transmits). Not re-entrant: event handlers that reach a client only flush it, and
// the loop here picks up any events they caused.
void Agent::Impl::process_turn(TimePoint now, std::size_t index) {
  flush_turn_transmits(index);
  if (draining_turn) return;
  draining_turn = true;
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t i = 0; i < turns.size(); ++i) {
      flush_turn_transmits(i);
      while (turns[i].client) {
        auto e = turns[i].client->poll_event();
        if (!e) break;
        progress = true;
        on_turn_event(now, i, *e);
        flush_turn_transmits(i);
      }
    }
  }
  draining_turn = false;
}

void Agent::Impl::on_turn_event(TimePoint now, std::size_t index, TurnEvent& e) {
  std::visit(overloaded{
                 [&](turn_event::Allocated& a) { on_allocated(now, index, a); },
                 [&](turn_event::AllocationFailed& f) { on_turn_failed(now, index, f); },
                 [&](turn_event::PeerData& d) {
                   const auto base = turns[index].base;
                   if (!base || bases[*base].dead) return;
                   if (looks_like_stun(d.data)) {
                     // A check or response on the relayed base (RFC 8445 §5.1.1.2).
                     handle_stun(now, *base, d.from, d.data);
                     return;
                   }
                   if (relayed_in.size() >= kMaxRelayedQueue) {
                     relayed_in.pop_front();
                     ++stats.dropped_relayed;
                   }
                   relayed_in.push_back({bases[*base].address, d.from, std::move(d.data)});
                 },
                 [&](turn_event::PermissionFailed& p) {
                   POSTHORN_LOG(Debug, "ice", "TURN permission refused for ",
                                redact(p.peer.to_string()), ": ", p.reason);
                 },
                 [&](turn_event::Closed&) {},
             },
             e);
}

Candidate Agent::Impl::make_relay_candidate(const TurnEntry& entry,
                                            const turn_event::Allocated& a) const {
  const auto& cfg = config.turn_servers[entry.server];
  Candidate c;
  c.type = CandidateType::Relayed;
  // RFC 8445 §5.1.1.3: one foundation per relayed address, server and transport.
  c.foundation = make_foundation(CandidateType::Relayed, a.relayed.ip(), turn_url(cfg));
  // RFC 8445 §5.1.2.1 with type preference 0 (§5.1.2.2): the local preference puts relays
  // reached over UDP before those over TCP (no head-of-line blocking under the data), then
  // follows the configuration order.
  const std::uint32_t pref =
      (cfg.transport == TurnTransport::Udp ? 60000u : 40000u) -
      static_cast<std::uint32_t>(std::min<std::size_t>(entry.server, 1000)) * 10;
  c.priority = compute_priority(type_preference(CandidateType::Relayed), pref, 1);
  c.address = a.relayed.ip().to_string();
  c.port = a.relayed.port();
  if (relay_only()) {
    // The relay policy exists so that the peer never learns our addresses; raddr would tell it
    // our public one. Browsers print 0.0.0.0 / :: here too.
    c.related_address = a.relayed.family() == IpFamily::V6 ? "::" : "0.0.0.0";
    c.related_port = 0;
  } else {
    const SocketAddress related = a.mapped.value_or(entry.local);
    c.related_address = related.ip().to_string();
    c.related_port = related.port();
  }
  c.extensions = {{"generation", "0"}, {"ufrag", local_creds.ufrag}};
  return c;
}

void Agent::Impl::on_allocated(TimePoint now, std::size_t index, const turn_event::Allocated& a) {
  ++stats.turn_allocations;
  // A retried allocation may get the relayed address of a dead base back: revive that base.
  std::size_t b = bases.size();
  for (std::size_t i = 0; i < bases.size(); ++i) {
    if (bases[i].address == a.relayed && bases[i].is_relayed() && bases[i].dead) b = i;
  }
  if (b == bases.size()) bases.push_back({.address = a.relayed, .candidate = {}});
  bases[b].turn = index;
  bases[b].dead = false;
  bases[b].candidate = make_relay_candidate(turns[index], a);
  turns[index].base = b;
  turns[index].pending = false;
  POSTHORN_LOG(Info, "ice", "TURN allocation on ",
               redact(turn_url(config.turn_servers[turns[index].server])), ": relayed ",
               redact(a.relayed.to_string()));
  events.push_back(event::LocalCandidate{bases[b].candidate});
  // RFC 8656 §9: permissions for every remote we already know, then pairs with them.
  for (const auto& r : remotes)
    add_turn_permissions(now, r.address.ip());
  form_pairs_for_base(b);
  maybe_send_paced_check(now);
  on_gather_finished(now);
}

void Agent::Impl::on_turn_failed(TimePoint now, std::size_t index,
                                 const turn_event::AllocationFailed& f) {
  auto& entry = turns[index];
  const bool was_pending = entry.pending;
  entry.pending = false;
  entry.failed = true;
  ++stats.turn_allocations_failed;
  report_candidate_error(entry.server, f.stun_code ? f.stun_code : kUnreachableCode, f.reason,
                         f.error);
  if (entry.base) {
    // The allocation is gone (refresh refused, TCP connection closed): so are its pairs.
    bases[*entry.base].dead = true;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      auto& p = pairs[i];
      if (p.base != *entry.base || p.state == PairState::Failed) continue;
      p.state = PairState::Failed;
      p.nominated = p.nominating = false;
      ++stats.pairs_failed;
      if (selected == i) {
        selected.reset();
        announced_selection.reset();
      }
    }
    std::erase_if(transactions, [&](const Transaction& t) {
      return t.kind != TransactionKind::Gather && t.base == *entry.base;
    });
  }
  if (was_pending) on_gather_finished(now);
}

void Agent::Impl::report_candidate_error(std::size_t server, std::uint16_t code, std::string text,
                                         error_code error) {
  const auto url = turn_url(config.turn_servers[server]);
  POSTHORN_LOG(Warn, "ice", "TURN allocation failed on ", redact(url), ": ", text);
  if (candidate_errors.size() >= kMaxCandidateErrors) {
    candidate_errors.pop_front();
    ++stats.dropped_candidate_errors;
  }
  candidate_errors.push_back({url, code, std::move(text), error});
}

void Agent::Impl::add_turn_permissions(TimePoint now, const IpAddress& ip) {
  for (std::size_t i = 0; i < turns.size(); ++i) {
    auto& e = turns[i];
    if (!e.client || e.client->state() != TurnState::Allocated || !e.base) continue;
    const auto& relayed = bases[*e.base].address;
    // Same filter as pairing: a permission nobody will use only costs the server a request.
    if (relayed.family() != ip.family() || relayed.ip().is_loopback() != ip.is_loopback()) continue;
    if (auto r = e.client->add_permission(now, ip); !r)
      POSTHORN_LOG(Debug, "ice", "TURN permission not requested: ", r.error().message());
    flush_turn_transmits(i);
  }
}

void Agent::Impl::form_pairs_for_base(std::size_t base) {
  if (!pairable(base)) return;
  const auto& local = bases[base].address;
  for (const auto& remote : remotes) {
    if (local.family() != remote.address.family()) continue;
    if (local.ip().is_loopback() != remote.address.ip().is_loopback()) continue;
    find_or_add_pair(base, remote);
  }
}

void Agent::Impl::send_from(TimePoint now, std::size_t base, const SocketAddress& remote,
                            Bytes payload) {
  const auto& b = bases[base];
  if (!b.is_relayed()) {
    transmits.push_back({b.address, remote, std::move(payload)});
    return;
  }
  if (b.dead) return; // the transaction times out like a lost datagram
  const std::size_t i = *b.turn;
  if (auto r = turns[i].client->send_to(now, remote, payload); !r) {
    ++stats.relayed_send_failures;
    POSTHORN_LOG(Debug, "ice", "relayed STUN not sent: ", r.error().message());
  }
  flush_turn_transmits(i);
}

void Agent::Impl::close_turn(TimePoint now) {
  for (std::size_t i = 0; i < turns.size(); ++i) {
    auto& e = turns[i];
    e.pending = false;
    if (!e.client) continue;
    // RFC 8656 §8: Refresh with LIFETIME 0 releases the allocation now rather than at expiry.
    e.client->close(now);
    flush_turn_transmits(i);
  }
}

std::optional<TimePoint> Agent::Impl::next_turn_deadline() const {
  std::optional<TimePoint> next;
  for (const auto& e : turns) {
    if (!e.client) continue;
    if (auto t = e.client->poll_timeout(); t && (!next || *t < *next)) next = t;
  }
  return next;
}

void Agent::Impl::turn_timeouts(TimePoint now) {
  bool any = false;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    auto& e = turns[i];
    if (!e.client) continue;
    if (auto t = e.client->poll_timeout(); t && *t <= now) {
      e.client->handle_timeout(now);
      any = true;
    }
  }
  if (any && !turns.empty()) process_turn(now, 0);
}

} // namespace posthorn::ice
