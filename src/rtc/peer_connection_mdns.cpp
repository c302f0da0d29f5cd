// Remote host candidates behind mDNS names (draft-ietf-mmusic-mdns-ice-candidates §3.2): a
// browser signals "<uuid>.local" instead of its address. The connection parks such candidates,
// asks its driver to resolve the name once (poll_mdns_query), and hands them to ICE with the
// address when handle_mdns_resolved() brings it. Until then the browser's own checks may still
// reach us and make it a peer-reflexive remote (RFC 8445 §7.3.1.3); the resolved candidate
// then only corrects that remote's type and priority.
#include "rtc/peer_connection_impl.hpp"

#include "core/log.hpp"

#include <algorithm>
#include <cctype>

namespace posthorn::rtc {
namespace {

// A browser has a handful of host candidates; 16 names and 8 candidates per name leave room for
// several interfaces and an ICE restart while bounding what a hostile signaling peer can park.
constexpr std::size_t kMaxPendingMdnsNames = 16;
constexpr std::size_t kMaxCandidatesPerMdnsName = 8;

// DNS names compare case-insensitively (RFC 1035 §2.3.3); a trailing dot is the absolute form.
std::string normalized_name(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

ice::Candidate with_address(ice::Candidate c, const IpAddress& ip) {
  c.address = ip.to_string();
  return c;
}

} // namespace

void PeerConnection::Impl::add_remote(TimePoint now, const ice::Candidate& c) {
  if (!c.is_mdns()) {
    agent.add_remote_candidate(now, c);
    return;
  }
  // Only UDP component-1 candidates are ever paired; don't spend a query on anything else.
  if (c.component != 1 || c.transport != ice::TransportProtocol::Udp) return;
  auto name = normalized_name(c.address);
  if (auto known = mdns_resolved.find(name); known != mdns_resolved.end()) {
    agent.add_remote_candidate(now, with_address(c, known->second));
    return;
  }
  auto pending = std::find_if(mdns_pending.begin(), mdns_pending.end(),
                              [&](const PendingName& p) { return p.name == name; });
  if (pending == mdns_pending.end()) {
    if (mdns_pending.size() >= kMaxPendingMdnsNames) {
      ++stats.dropped_mdns_candidates;
      return;
    }
    mdns_queries.push_back(name);
    pending = mdns_pending.insert(mdns_pending.end(), PendingName{std::move(name), {}});
  }
  if (pending->candidates.size() >= kMaxCandidatesPerMdnsName) {
    ++stats.dropped_mdns_candidates;
    return;
  }
  pending->candidates.push_back(c);
}

void PeerConnection::Impl::remote_gathering_done(TimePoint now) {
  if (!mdns_pending.empty()) {
    remote_end_of_candidates_deferred = true;
    return;
  }
  remote_end_of_candidates_deferred = false;
  agent.set_remote_gathering_complete(now);
}

std::optional<std::string> PeerConnection::poll_mdns_query() {
  auto& q = impl_->mdns_queries;
  if (q.empty()) return std::nullopt;
  auto name = std::move(q.front());
  q.pop_front();
  return name;
}

void PeerConnection::handle_mdns_resolved(TimePoint now, std::string_view name,
                                          const result<IpAddress>& address) {
  auto& s = *impl_;
  const auto key = normalized_name(name);
  auto pending = std::find_if(s.mdns_pending.begin(), s.mdns_pending.end(),
                              [&](const Impl::PendingName& p) { return p.name == key; });
  if (pending == s.mdns_pending.end()) return; // not ours, or already answered
  auto candidates = std::move(pending->candidates);
  s.mdns_pending.erase(pending);
  if (s.closed) return;
  if (address) {
    if (s.mdns_resolved.size() < kMaxPendingMdnsNames) s.mdns_resolved.emplace(key, *address);
    for (const auto& c : candidates)
      s.agent.add_remote_candidate(now, with_address(c, *address));
  } else {
    // The peer's other candidates (or its checks, as peer-reflexive) may still connect.
    ++s.stats.mdns_names_unresolved;
    POSTHORN_LOG(Debug, "rtc",
                 "an mDNS candidate name was not resolved: ", address.error().message());
  }
  if (s.remote_end_of_candidates_deferred && s.mdns_pending.empty()) s.remote_gathering_done(now);
  s.pump(now);
}

} // namespace posthorn::rtc
