#include "relay/tracker_hub.hpp"

#include "core/overloaded.hpp"

#include <algorithm>
#include <iterator>

namespace posthorn::relay {

namespace tracker = signal::tracker;

namespace {

/// lib/server/swarm.js accepts these; a missing or "empty" event is "update" (server.js
/// `_onAnnounce`), and "started", "completed", "paused" on a peer already there are updates too.
bool is_joining_event(const std::optional<std::string>& event) {
  if (!event) return true;
  return *event == "update" || *event == "empty" || *event == "started" || *event == "completed" ||
         *event == "paused";
}

std::shared_ptr<const std::string> encoded(const tracker::TrackerMessage& message) {
  return std::make_shared<const std::string>(tracker::encode(message));
}

} // namespace

void TrackerHub::add_client(ClientId id, Clock::time_point now) {
  remove_client(id); // a reused id starts clean: no membership may outlive its client entry
  clients_.emplace(id, Client{TokenBucket(limits_.rate_per_second, limits_.burst, now), 0, {}});
}

void TrackerHub::remove_client(ClientId id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  const auto memberships = std::move(it->second.swarms);
  clients_.erase(it);
  for (const auto& m : memberships) {
    unlink(*m.swarm, *m.member);
    if (m.swarm->second.members.empty()) swarms_.erase(swarms_.find(m.swarm->first));
  }
}

void TrackerHub::unlink(SwarmEntry& swarm, MemberEntry& member) {
  Swarm& s = swarm.second;
  const std::uint32_t slot = member.second.slot;
  MemberEntry* last = s.order.back();
  s.order[slot] = last;
  last->second.slot = slot;
  s.order.pop_back();
  if (member.second.complete) --s.complete;
  s.members.erase(s.members.find(member.first));
}

void TrackerHub::drop(SwarmEntry& swarm, MemberEntry& member, bool keep_swarm) {
  if (auto cit = clients_.find(member.second.client); cit != clients_.end()) {
    auto& list = cit->second.swarms;
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const Membership& m) { return m.member == &member; });
    if (it != list.end()) {
      *it = list.back();
      list.pop_back();
    }
  }
  unlink(swarm, member);
  if (!keep_swarm && swarm.second.members.empty()) swarms_.erase(swarms_.find(swarm.first));
}

std::size_t TrackerHub::expire(Clock::time_point now) {
  std::size_t dropped = 0;
  for (auto sit = swarms_.begin(); sit != swarms_.end();) {
    auto& order = sit->second.order;
    // Backwards: a removal moves the last member into the hole, and that one was already seen.
    for (std::size_t i = order.size(); i-- > 0;) {
      if (!is_expired(order[i]->second, now)) continue;
      drop(*sit, *order[i], /*keep_swarm=*/true);
      ++dropped;
    }
    sit = sit->second.members.empty() ? swarms_.erase(sit) : std::next(sit);
  }
  stats_.expired += dropped;
  return dropped;
}

void TrackerHub::refuse(ClientId id, Client& client, std::string reason,
                        std::optional<std::string> info_hash, HubOutput& out) {
  ++stats_.refused;
  if (++client.refusals_in_a_row >= limits_.max_refusals) {
    out.disconnect = true;
    ++stats_.disconnected;
    reason += "; too many refusals, closing";
  }
  out.sends.push_back({{id}, encoded(tracker::Failure{std::move(reason), std::move(info_hash)})});
}

HubOutput TrackerHub::handle(ClientId from, std::string_view text, Clock::time_point now) {
  HubOutput out;
  auto cit = clients_.find(from);
  if (cit == clients_.end()) return out;
  Client& client = cit->second;
  if (now >= next_sweep_) {
    expire(now);
    next_sweep_ = now + std::max<Clock::duration>(limits_.member_ttl / 4, std::chrono::seconds(1));
  }
  if (!client.tokens.take(now)) {
    refuse(from, client, "rate-limited: slow down", std::nullopt, out);
    return out;
  }
  if (text.size() > limits_.max_message_bytes) {
    refuse(from, client,
           "message larger than " + std::to_string(limits_.max_message_bytes) + " bytes",
           std::nullopt, out);
    return out;
  }
  auto decoded = tracker::decode_client_message(text);
  if (auto* e = std::get_if<tracker::DecodeError>(&decoded)) {
    // Like bittorrent-tracker's parse errors: the reason only, no info_hash.
    refuse(from, client, std::move(e->reason), std::nullopt, out);
    return out;
  }
  std::visit(overloaded{
                 [&](tracker::Announce& m) { announce(from, client, m, now, out); },
                 [&](tracker::SendAnswer& m) { route_answer(from, client, m, now, out); },
             },
             std::get<tracker::ClientMessage>(decoded));
  return out;
}

std::variant<TrackerHub::Membership, std::string>
TrackerHub::join(ClientId from, Client& client, const std::string& info_hash,
                 const std::string& peer_id, bool complete, Clock::time_point now) {
  auto sit = swarms_.find(info_hash);
  if (sit != swarms_.end()) {
    if (auto mit = sit->second.members.find(peer_id); mit != sit->second.members.end()) {
      Member& m = mit->second;
      if (m.client == from) {
        m.last_seen = now;
        if (complete && !m.complete) {
          m.complete = true; // like bittorrent-tracker: a seeder stays one
          ++sit->second.complete;
        }
        return Membership{&*sit, &*mit};
      }
      // bittorrent-tracker would hand the peer_id to whoever announces it; we keep it with its
      // client while that client is alive, or until it has been silent for member_ttl.
      if (!is_expired(m, now)) return std::string("peer_id is in use by another connection");
      ++stats_.expired;
      drop(*sit, *mit, /*keep_swarm=*/true);
    }
    // One peer_id per client and swarm: a new one replaces the old.
    for (const Membership& held : client.swarms) {
      if (held.swarm != &*sit) continue;
      drop(*sit, *held.member, /*keep_swarm=*/true);
      break; // `held` is gone, and there was only one
    }
  }
  // Reached on refusal: a swarm emptied above must not stay behind.
  auto discard_empty = [&] {
    if (sit != swarms_.end() && sit->second.members.empty()) swarms_.erase(sit);
  };
  if (client.swarms.size() >= limits_.max_swarms_per_client) {
    // Swarms the client stopped announcing in (Trystero never says "stopped") make room first.
    for (std::size_t i = client.swarms.size(); i-- > 0;) {
      const Membership held = client.swarms[i];
      if (!is_expired(held.member->second, now)) continue;
      ++stats_.expired;
      drop(*held.swarm, *held.member);
    }
    if (client.swarms.size() >= limits_.max_swarms_per_client) {
      discard_empty();
      return "more than " + std::to_string(limits_.max_swarms_per_client) +
             " swarms on one connection";
    }
  }
  const std::size_t size = sit == swarms_.end() ? 0 : sit->second.members.size();
  if (size >= limits_.max_members_per_swarm) {
    discard_empty();
    return "swarm is full (" + std::to_string(limits_.max_members_per_swarm) + " peers)";
  }
  if (sit == swarms_.end()) sit = swarms_.try_emplace(info_hash).first;
  Swarm& swarm = sit->second;
  auto mit =
      swarm.members
          .try_emplace(peer_id,
                       Member{from, now, static_cast<std::uint32_t>(swarm.order.size()), complete})
          .first;
  swarm.order.push_back(&*mit);
  if (complete) ++swarm.complete;
  client.swarms.push_back({&*sit, &*mit});
  return Membership{&*sit, &*mit};
}

void TrackerHub::leave(ClientId from, const std::string& info_hash, const std::string& peer_id) {
  auto sit = swarms_.find(info_hash);
  if (sit == swarms_.end()) return;
  auto mit = sit->second.members.find(peer_id);
  // Only the holder may stop a peer_id; bittorrent-tracker lets anyone.
  if (mit == sit->second.members.end() || mit->second.client != from) return;
  drop(*sit, *mit);
}

void TrackerHub::reply(ClientId to, const std::string& info_hash, HubOutput& out) const {
  std::int64_t members = 0;
  std::int64_t complete = 0;
  if (auto sit = swarms_.find(info_hash); sit != swarms_.end()) {
    members = static_cast<std::int64_t>(sit->second.members.size());
    complete = static_cast<std::int64_t>(sit->second.complete);
  }
  out.sends.push_back({{to},
                       encoded(tracker::AnnounceReply{.info_hash = info_hash,
                                                      .interval = limits_.interval.count(),
                                                      .complete = complete,
                                                      .incomplete = members - complete})});
}

void TrackerHub::announce(ClientId from, Client& client, tracker::Announce& m,
                          Clock::time_point now, HubOutput& out) {
  if (m.event == "stopped") {
    client.refusals_in_a_row = 0;
    ++stats_.announces;
    leave(from, m.info_hash, m.peer_id);
    reply(from, m.info_hash, out); // offers of a leaving peer are not forwarded
    return;
  }
  if (!is_joining_event(m.event)) {
    refuse(from, client, "invalid event", m.info_hash, out);
    return;
  }
  const bool complete = m.left == 0 || m.event == "completed";
  auto joined = join(from, client, m.info_hash, m.peer_id, complete, now);
  if (auto* why = std::get_if<std::string>(&joined)) {
    refuse(from, client, std::move(*why), m.info_hash, out);
    return;
  }
  client.refusals_in_a_row = 0;
  ++stats_.announces;
  const auto [swarm, self] = std::get<Membership>(joined);
  // Targets first: stale members found on the way leave before the reply counts them.
  pick_targets(*swarm, self, std::min({m.offers.size(), limits_.max_offers, tracker::kMaxOffers}),
               now);
  out.sends.reserve(1 + picked_.size());
  reply(from, m.info_hash, out); // bittorrent-tracker replies first, then forwards the offers
  for (std::size_t i = 0; i < picked_.size(); ++i) {
    auto& offer = m.offers[i];
    out.sends.push_back(
        {{picked_[i]->second.client},
         encoded(tracker::PeerOffer{m.info_hash, m.peer_id, std::move(offer.offer_id),
                                    std::move(offer.sdp)})});
  }
  stats_.offers_forwarded += picked_.size();
}

void TrackerHub::pick_targets(SwarmEntry& swarm, const MemberEntry* sender, std::size_t wanted,
                              Clock::time_point now) {
  picked_.clear();
  stale_.clear();
  auto& order = swarm.second.order;
  // A partial Fisher–Yates shuffle of the members: O(wanted) draws, each member at most once.
  for (std::size_t i = 0; i < order.size() && picked_.size() < wanted; ++i) {
    const std::size_t j = i + rng_.uniform(order.size() - i);
    if (j != i) {
      std::swap(order[i], order[j]);
      order[i]->second.slot = static_cast<std::uint32_t>(i);
      order[j]->second.slot = static_cast<std::uint32_t>(j);
    }
    MemberEntry* member = order[i];
    if (member == sender) continue; // never to itself
    if (is_expired(member->second, now)) {
      stale_.push_back(member);
      continue;
    }
    picked_.push_back(member);
  }
  stats_.expired += stale_.size();
  for (MemberEntry* member : stale_)
    drop(swarm, *member, /*keep_swarm=*/true); // the sender is still there
}

void TrackerHub::route_answer(ClientId from, Client& client, tracker::SendAnswer& m,
                              Clock::time_point now, HubOutput& out) {
  // bittorrent-tracker runs an answer through the announce path ("update", no left) first.
  auto joined = join(from, client, m.info_hash, m.peer_id, /*complete=*/false, now);
  if (auto* why = std::get_if<std::string>(&joined)) {
    refuse(from, client, std::move(*why), m.info_hash, out);
    return;
  }
  client.refusals_in_a_row = 0;
  const auto [swarm, self] = std::get<Membership>(joined);
  auto to = swarm->second.members.find(m.to_peer_id);
  if (to == swarm->second.members.end() || &*to == self) {
    ++stats_.answers_dropped; // bittorrent-tracker only warns; the offerer re-announces anyway
    return;
  }
  out.sends.push_back({{to->second.client},
                       encoded(tracker::PeerAnswer{std::move(m.info_hash), std::move(m.peer_id),
                                                   std::move(m.offer_id), std::move(m.sdp)})});
  ++stats_.answers_routed;
}

TrackerStats TrackerHub::stats() const {
  TrackerStats s = stats_;
  s.clients = clients_.size();
  s.swarms = swarms_.size();
  s.members = 0;
  for (const auto& [info_hash, swarm] : swarms_)
    s.members += swarm.members.size();
  return s;
}

} // namespace posthorn::relay
