// TorrentCoordinator: lifecycle, the offer pool, the announce cadence per tracker, passive mode and
// timers. The rules for offers and answers from the tracker are in torrent_negotiation.cpp.
#include "signal/torrent_coordinator.hpp"

#include "core/assert.hpp"
#include "core/log.hpp"
#include "signal/trystero_ids.hpp"

#include <algorithm>

namespace posthorn::signal {

TorrentCoordinator::TorrentCoordinator(TorrentConfig config, Rng& rng)
    : config_(std::move(config)), rng_(rng),
      key_(SignalKey::derive(config_.password, config_.app_id, config_.room_id)),
      info_hash_(torrent_info_hash(root_topic(config_.app_id, config_.room_id))),
      active_(!config_.passive), trackers_(config_.relay_count) {
  POSTHORN_ASSERT(tracker::is_valid_id(config_.self_id), "a tracker peer_id is 20 characters");
  for (auto& t : trackers_)
    t.interval = config_.timing.default_interval;
}

// ---- Lifecycle ----

void TorrentCoordinator::start(TimePoint now) {
  if (started_ || left_) return;
  started_ = true;
  command(Subscribe{info_hash_});
  if (active_) fill_pool(now); // gathering takes a moment: start before the tracker is up
}

void TorrentCoordinator::leave(TimePoint) {
  if (left_) return;
  left_ = true;
  deactivation_check_.reset();
  for (std::size_t i = 0; i < trackers_.size(); ++i) {
    if (!trackers_[i].ready) continue;
    tracker::Announce stopped{.info_hash = info_hash_,
                              .peer_id = config_.self_id,
                              .numwant = 0,
                              .event = std::string("stopped")};
    command(Publish{i, info_hash_, tracker::encode(stopped)});
  }
  close_pool("left the room");
  for (const auto& [pc, pending] : pending_)
    command(ClosePc{pc, "left the room"});
  pending_.clear();
  if (started_) command(Unsubscribe{info_hash_});
}

void TorrentCoordinator::set_shared_connection_lookup(std::function<bool(const PeerId&)> lookup) {
  shared_lookup_ = std::move(lookup);
}

// ---- The offer pool ----

void TorrentCoordinator::fill_pool(TimePoint now) {
  while (pool_.size() < config_.limits.pool_size) {
    const PcId pc = next_pc_++;
    pool_.push_back({.pc = pc, .offer_id = gen_id(rng_, tracker::kIdLength), .created = now});
    ++stats_.offers_created;
    command(CreateOffer{.pc = pc, .peer = {}, .complete_description = true});
  }
}

void TorrentCoordinator::close_pool(std::string reason) {
  for (const auto& offer : pool_)
    command(ClosePc{offer.pc, reason});
  pool_.clear();
}

bool TorrentCoordinator::pool_ready() const {
  return std::all_of(pool_.begin(), pool_.end(),
                     [](const PoolOffer& o) { return o.sealed_sdp.has_value(); });
}

void TorrentCoordinator::handle_local_description(TimePoint now, PcId pc, std::string_view sdp) {
  if (left_) return;
  auto offer = std::find_if(pool_.begin(), pool_.end(), [&](const auto& o) { return o.pc == pc; });
  if (offer != pool_.end()) {
    offer->sealed_sdp = encrypt(key_, sdp, rng_);
    // Announces that came due while the pool was gathering go out now.
    for (std::size_t i = 0; i < trackers_.size(); ++i) {
      auto& t = trackers_[i];
      if (t.waiting_for_pool && t.ready && pool_ready()) {
        t.waiting_for_pool = false;
        send_announce(now, i);
        schedule_next(now, i);
      }
    }
    return;
  }
  auto pending = pending_.find(pc);
  if (pending == pending_.end() || !pending->second.answer_relay) return;
  const auto& p = pending->second;
  tracker::SendAnswer answer{.info_hash = info_hash_,
                             .peer_id = config_.self_id,
                             .to_peer_id = p.peer,
                             .offer_id = p.offer_id,
                             .sdp = encrypt(key_, sdp, rng_)};
  command(Publish{*p.answer_relay, info_hash_, tracker::encode(answer)});
  ++stats_.answers_sent;
}

// ---- Trackers and the announce cadence (§4.3, §5.2) ----

void TorrentCoordinator::handle_relay_ready(TimePoint now, std::size_t relay) {
  POSTHORN_ASSERT(relay < trackers_.size(), "tracker index out of range");
  auto& t = trackers_[relay];
  const bool warming_up = t.ready && (t.next_announce || t.waiting_for_pool) && t.announces < 4;
  t.ready = true;
  if (left_ || !started_ || warming_up) return;
  t.announces = 0;
  announce(now, relay);
}

void TorrentCoordinator::handle_relay_lost(TimePoint, std::size_t relay) {
  POSTHORN_ASSERT(relay < trackers_.size(), "tracker index out of range");
  trackers_[relay] = TrackerCadence{.interval = config_.timing.default_interval};
}

void TorrentCoordinator::announce(TimePoint now, std::size_t relay) {
  auto& t = trackers_[relay];
  t.next_announce.reset();
  if (!active_) {
    // Dormant (JS startPassiveAnnouncements): stay in the swarm without offers, so an active
    // peer's offers still reach us.
    tracker::Announce dormant{.info_hash = info_hash_,
                              .peer_id = config_.self_id,
                              .numwant = static_cast<std::uint32_t>(config_.limits.pool_size),
                              .left = 0};
    command(Publish{relay, info_hash_, tracker::encode(dormant)});
    ++stats_.announces_sent;
    t.next_announce = now + std::max(t.interval, config_.timing.dormant_interval);
    return;
  }
  // Before each announce: offers past their retention are replaced (pruneOutstandingOffers).
  std::erase_if(pool_, [&](const PoolOffer& o) {
    if (o.created + config_.timing.offer_retention > now) return false;
    ++stats_.offers_expired;
    command(ClosePc{o.pc, "pool offer expired unclaimed"});
    return true;
  });
  fill_pool(now);
  if (!pool_ready()) {
    t.waiting_for_pool = true; // handle_local_description / handle_pc_failed send it
    return;
  }
  send_announce(now, relay);
  schedule_next(now, relay);
}

void TorrentCoordinator::nudge(TimePoint now, std::size_t relay) {
  auto& t = trackers_[relay];
  if (!active_ || !t.ready || t.waiting_for_pool) return;
  const Duration spacing = config_.timing.nudge_spacing;
  if ((t.last_nudge && *t.last_nudge + spacing > now) ||
      (t.last_announce && *t.last_announce + spacing > now))
    return;
  t.last_nudge = now;
  ++stats_.nudges;
  announce(now, relay);
}

void TorrentCoordinator::send_announce(TimePoint now, std::size_t relay) {
  trackers_[relay].last_announce = now;
  tracker::Announce a{.info_hash = info_hash_,
                      .peer_id = config_.self_id,
                      .numwant = static_cast<std::uint32_t>(config_.limits.pool_size)};
  a.offers.reserve(pool_.size());
  for (const auto& o : pool_)
    if (o.sealed_sdp) a.offers.push_back({o.offer_id, *o.sealed_sdp});
  command(Publish{relay, info_hash_, tracker::encode(a)});
  ++stats_.announces_sent;
}

void TorrentCoordinator::schedule_next(TimePoint now, std::size_t relay) {
  auto& t = trackers_[relay];
  const auto& warmup = config_.timing.announce_warmup;
  const Duration delay =
      t.announces < warmup.size() ? std::min(warmup[t.announces], t.interval) : t.interval;
  ++t.announces;
  t.next_announce = now + delay;
}

void TorrentCoordinator::restart_all_bursts(TimePoint now) {
  for (std::size_t i = 0; i < trackers_.size(); ++i) {
    if (!trackers_[i].ready) continue;
    trackers_[i].announces = 0;
    trackers_[i].waiting_for_pool = false;
    announce(now, i);
  }
}

// ---- Passive rooms (§4.5) ----

void TorrentCoordinator::activate(TimePoint now) {
  active_ = true;
  ++stats_.activations;
  event(Activated{});
  fill_pool(now);
  restart_all_bursts(now);
  deactivation_check_ = now + config_.timing.passive_activation_grace;
}

void TorrentCoordinator::check_deactivate(TimePoint now) {
  if (!config_.passive || !active_ || left_) return;
  if (!pending_.empty() || !connected_.empty()) return;
  active_ = false;
  ++stats_.deactivations;
  deactivation_check_.reset();
  close_pool("passive room went back to sleep");
  event(Deactivated{});
  restart_all_bursts(now); // dormant announces from now on
}

// ---- PeerConnection progress ----

void TorrentCoordinator::handle_connected(TimePoint, PcId pc) {
  auto it = pending_.find(pc);
  if (it == pending_.end() || left_) return;
  connected_[it->second.peer] = pc;
  pending_.erase(it);
  ++stats_.connections;
}

void TorrentCoordinator::handle_pc_failed(TimePoint now, PcId pc) {
  if (left_) return;
  if (std::erase_if(pool_, [&](const PoolOffer& o) { return o.pc == pc; }) > 0) {
    // A pool offer that could not be made: announce what is left; the next announce refills.
    for (std::size_t i = 0; i < trackers_.size(); ++i) {
      auto& t = trackers_[i];
      if (t.waiting_for_pool && t.ready && pool_ready()) {
        t.waiting_for_pool = false;
        send_announce(now, i);
        schedule_next(now, i);
      }
    }
    return;
  }
  pending_.erase(pc);
  std::erase_if(connected_, [&](const auto& entry) { return entry.second == pc; });
  check_deactivate(now);
}

void TorrentCoordinator::handle_peer_lost(TimePoint now, const PeerId& peer) {
  if (left_ || connected_.erase(peer) == 0) return;
  // Look for it again at once rather than at the next steady announce (as Coordinator does).
  if (active_) restart_all_bursts(now);
  check_deactivate(now);
}

void TorrentCoordinator::close_pending(PcId pc, std::string reason) {
  pending_.erase(pc);
  command(ClosePc{pc, std::move(reason)});
}

// ---- Timers ----

void TorrentCoordinator::handle_timeout(TimePoint now) {
  if (left_ || !started_) return;
  for (std::size_t i = 0; i < trackers_.size(); ++i) {
    const auto& t = trackers_[i];
    if (t.ready && t.next_announce && *t.next_announce <= now) announce(now, i);
  }
  std::vector<PcId> expired;
  for (const auto& [pc, pending] : pending_)
    if (pending.expires <= now) expired.push_back(pc);
  for (PcId pc : expired) {
    ++stats_.connect_timeouts;
    close_pending(pc, "no connection in time after the SDP exchange");
  }
  if (!expired.empty()) check_deactivate(now);
  if (deactivation_check_ && *deactivation_check_ <= now) {
    deactivation_check_.reset();
    check_deactivate(now);
  }
}

std::optional<TimePoint> TorrentCoordinator::poll_timeout() const {
  if (left_ || !started_) return std::nullopt;
  std::optional<TimePoint> next;
  const auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& t : trackers_)
    if (t.ready && t.next_announce) consider(*t.next_announce);
  for (const auto& [pc, pending] : pending_)
    consider(pending.expires);
  if (deactivation_check_) consider(*deactivation_check_);
  return next;
}

std::optional<Command> TorrentCoordinator::poll_command() {
  if (commands_.empty()) return std::nullopt;
  Command c = std::move(commands_.front());
  commands_.pop_front();
  return c;
}

std::optional<Event> TorrentCoordinator::poll_event() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

} // namespace posthorn::signal
