// Candidate gathering (RFC 8445 §5.1): host candidates from the local sockets, server-reflexive
// candidates from STUN Binding requests to the configured servers (RFC 8489 §7). Relayed
// candidates come from the TURN clients (agent_turn.cpp); gathering completes when every STUN
// transaction and every TURN allocation attempt has ended.
#include "core/crypto.hpp"
#include "ice/agent_impl.hpp"

#include <algorithm>

namespace posthorn::ice {

// RFC 8445 §5.1.1.3: same foundation for candidates of the same type, base IP and server.
std::string make_foundation(CandidateType type, const IpAddress& base_ip, std::string_view server) {
  ByteWriter w;
  w.u8(static_cast<std::uint8_t>(type));
  w.bytes(base_ip.bytes());
  w.bytes(as_bytes(server));
  return std::to_string(crypto::crc32(w.view()));
}

// RFC 8445 §5.1.2.1 local preference: unique per base. IPv6 before IPv4 (RFC 8421 §4 prefers
// IPv6 on dual-stack hosts), loopback last, then discovery order.
std::uint32_t local_preference(const SocketAddress& address, std::size_t index) {
  std::uint32_t pref = address.family() == IpFamily::V6 ? 60000 : 50000;
  if (address.ip().is_loopback()) pref -= 30000;
  if (address.ip().is_link_local()) pref -= 20000;
  return pref - static_cast<std::uint32_t>(std::min<std::size_t>(index, 1000)) * 10;
}

bool server_reachable_from(const SocketAddress& base, const SocketAddress& server) {
  return base.family() == server.family() && base.ip().is_loopback() == server.ip().is_loopback() &&
         !base.ip().is_link_local();
}

Candidate Agent::Impl::make_local_candidate(CandidateType type, const SocketAddress& address,
                                            const LocalBase& base, std::size_t base_index) const {
  Candidate c;
  c.type = type;
  c.foundation =
      make_foundation(type, base.address.ip(), type == CandidateType::Host ? "" : "stun");
  c.priority =
      compute_priority(type_preference(type), local_preference(base.address, base_index), 1);
  c.address = address.ip().to_string();
  c.port = address.port();
  if (type != CandidateType::Host) {
    c.related_address = base.address.ip().to_string();
    c.related_port = base.address.port();
  }
  c.extensions = {{"generation", "0"}, {"ufrag", local_creds.ufrag}};
  return c;
}

void Agent::Impl::gather(TimePoint now) {
  if (closed) return;
  gathering = true;
  gathered_once = true;
  for (std::size_t i = 0; i < bases.size(); ++i) {
    auto& base = bases[i];
    if (base.dead) continue;
    if (base.is_relayed()) {
      // A live allocation survives an ICE restart: same relayed address, new ufrag.
      base.candidate.extensions = {{"generation", "0"}, {"ufrag", local_creds.ufrag}};
      events.push_back(event::LocalCandidate{base.candidate});
      continue;
    }
    base.candidate = make_local_candidate(CandidateType::Host, base.address, base, i);
    // W3C iceTransportPolicy "relay": host sockets stay bases of the TURN links only.
    if (!relay_only()) events.push_back(event::LocalCandidate{base.candidate});
  }
  start_turn(now);
  for (std::size_t b = 0; b < bases.size() && !relay_only(); ++b) {
    if (bases[b].is_relayed()) continue;
    for (std::size_t s = 0; s < config.stun_servers.size(); ++s) {
      const auto& server = config.stun_servers[s];
      if (!server_reachable_from(bases[b].address, server)) continue;
      Transaction t;
      t.id = new_transaction_id();
      t.kind = TransactionKind::Gather;
      t.server = s;
      t.base = b;
      t.remote = server;
      t.request =
          StunMessage(StunClass::Request, StunMethod::Binding, t.id).encode(std::nullopt, true);
      t.transmissions = 1;
      t.max_transmissions = config.timing.gather_max_transmissions;
      t.rto = config.timing.gather_rto;
      t.next_retransmit = now + t.rto;
      transmits.push_back({bases[b].address, server, t.request});
      transactions.push_back(std::move(t));
    }
  }
  on_gather_finished(now);
}

void Agent::Impl::on_gather_response(const Transaction& t, const StunMessage& msg) {
  if (msg.cls() != StunClass::SuccessResponse) return;
  auto mapped = msg.xor_address(stun_attr::kXorMappedAddress);
  if (!mapped) mapped = msg.mapped_address(); // RFC 3489 servers
  if (!mapped || t.base >= bases.size()) return;
  const auto& base = bases[t.base];
  // A mapped address equal to the base means no NAT: the candidate would be redundant.
  if (*mapped == base.address) return;
  auto c = make_local_candidate(CandidateType::ServerReflexive, *mapped, base, t.base);
  const bool duplicate = std::any_of(srflx.begin(), srflx.end(), [&](const Candidate& s) {
    return s.address == c.address && s.port == c.port;
  });
  if (duplicate) return;
  srflx.push_back(c);
  events.push_back(event::LocalCandidate{std::move(c)});
}

bool Agent::Impl::gathering_pending() const {
  return std::any_of(transactions.begin(), transactions.end(),
                     [](const auto& t) { return t.kind == TransactionKind::Gather; }) ||
         std::any_of(turns.begin(), turns.end(), [](const TurnEntry& t) { return t.pending; });
}

void Agent::Impl::on_gather_finished(TimePoint) {
  if (!gathering || gathering_pending()) return;
  gathering = false;
  events.push_back(event::GatheringComplete{});
}

} // namespace posthorn::ice
