// Coordinator: lifecycle, relays and the announce cadence (§4.3), passive mode (§4.5), timers, and
// the PeerConnection callbacks. The message rules of §4.2 are in coordinator_negotiation.cpp.
#include "signal/coordinator.hpp"

#include "core/assert.hpp"
#include "core/log.hpp"
#include "signal/trystero_ids.hpp"

#include <algorithm>

namespace posthorn::signal {

Coordinator::Coordinator(CoordinatorConfig config, Rng& rng)
    : config_(std::move(config)), rng_(rng),
      key_(SignalKey::derive(config_.password, config_.app_id, config_.room_id)),
      root_topic_(signal::root_topic(config_.app_id, config_.room_id)),
      self_topic_(signal::self_topic(config_.app_id, config_.room_id, config_.self_id)),
      active_(!config_.passive), relays_(config_.relay_count) {
  POSTHORN_ASSERT(!config_.self_id.empty(), "coordinator needs our peer id");
  announce_text_ = message_text(SignalMessage{.peer_id = config_.self_id});
  poke_text_ = to_json(SignalMessage{.peer_id = config_.self_id});
}

// ---- Lifecycle ----

void Coordinator::start(TimePoint) {
  if (started_ || left_) return;
  started_ = true;
  // JS subscribes selfTopic first so that replies to our first announce cannot be missed.
  if (!config_.passive) {
    command(Subscribe{self_topic_});
    self_subscribed_ = true;
  }
  command(Subscribe{root_topic_});
}

void Coordinator::leave(TimePoint) {
  if (left_) return;
  left_ = true;
  stop_announcing();
  deactivation_check_.reset();
  for (auto& [peer, state] : peers_) {
    if (state.offer) command(ClosePc{state.offer->pc, "left the room"});
    if (state.answering) command(ClosePc{state.answering->pc, "left the room"});
  }
  peers_.clear();
  pc_owner_.clear();
  if (self_subscribed_) command(Unsubscribe{self_topic_});
  if (started_) command(Unsubscribe{root_topic_});
}

void Coordinator::set_shared_connection_lookup(std::function<bool(const PeerId&)> lookup) {
  shared_lookup_ = std::move(lookup);
}

// ---- Relays and the announce cadence (§4.3) ----

void Coordinator::handle_relay_ready(TimePoint now, std::size_t relay) {
  POSTHORN_ASSERT(relay < relays_.size(), "relay index out of range");
  auto& r = relays_[relay];
  const bool warming_up = r.ready && r.next_announce && r.announces < 4;
  r.ready = true;
  if (left_ || !started_ || !active_) return;
  // Each subscription reports readiness; the second one on this relay must not restart the burst.
  if (warming_up) return;
  restart_burst(now, relay);
}

void Coordinator::handle_relay_lost(TimePoint, std::size_t relay) {
  POSTHORN_ASSERT(relay < relays_.size(), "relay index out of range");
  relays_[relay] = detail::RelayState{};
}

void Coordinator::announce(TimePoint now, std::size_t relay) {
  auto& r = relays_[relay];
  publish(relay, root_topic_, announce_text_);
  ++stats_.announces_sent;
  const auto& warmup = config_.timing.announce_warmup;
  const Duration steady = config_.timing.steady_announce_interval;
  // JS: a warm-up step never exceeds the steady interval.
  const Duration delay =
      r.announces < warmup.size() ? std::min(warmup[r.announces], steady) : steady;
  ++r.announces;
  r.next_announce = now + delay;
}

void Coordinator::restart_burst(TimePoint now, std::size_t relay) {
  relays_[relay].announces = 0;
  announce(now, relay);
}

void Coordinator::restart_all_bursts(TimePoint now) {
  for (std::size_t i = 0; i < relays_.size(); ++i)
    if (relays_[i].ready) restart_burst(now, i);
}

void Coordinator::stop_announcing() {
  for (auto& r : relays_) {
    r.next_announce.reset();
    r.announces = 0;
  }
}

// ---- Passive rooms (§4.5) ----

void Coordinator::activate(TimePoint now) {
  active_ = true;
  ++stats_.activations;
  event(Activated{});
  if (!self_subscribed_) {
    command(Subscribe{self_topic_});
    self_subscribed_ = true;
  }
  restart_all_bursts(now);
  deactivation_check_ = now + config_.timing.passive_activation_grace;
}

// JS checkDeactivate: a passive room with no peer work left goes back to sleep. Called after the
// activation grace and whenever a peer's work ends.
void Coordinator::check_deactivate() {
  if (!config_.passive || !active_ || left_) return;
  for (const auto& [peer, state] : peers_)
    if (state.has_work()) return;
  active_ = false;
  ++stats_.deactivations;
  deactivation_check_.reset();
  stop_announcing();
  std::erase_if(peers_, [](const auto& entry) { return !entry.second.has_work(); });
  event(Deactivated{});
}

// ---- Messages ----

void Coordinator::handle_message(TimePoint now, std::size_t relay, std::string_view topic,
                                 std::string_view text) {
  POSTHORN_ASSERT(relay < relays_.size(), "relay index out of range");
  if (left_ || !started_) return;
  ++stats_.messages;
  auto parsed = parse_signal_message(text);
  if (!parsed) {
    ++stats_.dropped_malformed;
    POSTHORN_LOG(Debug, "signal", "dropped a malformed message: ", parsed.error().message());
    return;
  }
  const SignalMessage& msg = *parsed;
  POSTHORN_LOG(Trace, "signal", "relay ", relay, ": message type ", static_cast<int>(msg.type),
               " from ", redact(msg.peer_id));
  // §4.1 steps 3–4.
  if (msg.peer_id == config_.self_id) {
    ++stats_.dropped_own;
    return;
  }
  if (topic != root_topic_ && topic != self_topic_) {
    ++stats_.dropped_foreign_topic;
    return;
  }
  using Type = SignalMessage::Type;
  if (config_.passive) {
    // Two passive rooms ignore each other; an announce or offer from anyone else wakes us up.
    if (msg.passive) {
      ++stats_.dropped_passive_peer;
      return;
    }
    if (!active_ && (msg.type == Type::Announce || msg.type == Type::Offer)) activate(now);
    if (!active_) {
      ++stats_.dropped_inactive;
      return;
    }
  }

  if (PeerState* state = find_peer(msg.peer_id); state && state->connection) {
    // §4.2 "Connected": a live connection's peer is not renegotiated over the relays. An unhealthy
    // one gets transient_grace from its first message, then we start over.
    auto& conn = *state->connection;
    if (conn.live) {
      ++stats_.dropped_connected;
      return;
    }
    if (!conn.unhealthy_since) conn.unhealthy_since = now;
    if (now - *conn.unhealthy_since < config_.timing.transient_grace) {
      ++stats_.dropped_connected;
      return;
    }
    ++stats_.connections_abandoned;
    if (conn.pc) pc_owner_.erase(*conn.pc);
    state->connection.reset();
    event(ConnectionAbandoned{msg.peer_id});
  }
  if (shared_lookup_ && shared_lookup_(msg.peer_id)) {
    attach_shared(now, msg.peer_id);
    return;
  }
  switch (msg.type) {
  case Type::Announce: on_announce(now, relay, msg.peer_id); break;
  case Type::Offer: on_offer(now, relay, msg); break;
  case Type::Candidate: on_candidate(now, msg); break;
  case Type::Answer: on_answer(now, msg); break;
  }
}

// ---- PeerConnection progress ----

void Coordinator::handle_local_description(TimePoint now, PcId pc, std::string_view sdp) {
  if (left_) return;
  const auto owner = pc_owner_.find(pc);
  if (owner == pc_owner_.end()) return;
  const PeerId peer = owner->second;
  PeerState& state = peers_.at(peer);
  if (state.offer && state.offer->pc == pc) {
    auto& offer = *state.offer;
    if (offer.message) return; // one description per offer: re-sends reuse the ciphertext
    offer.message = message_text(SignalMessage{.peer_id = config_.self_id,
                                               .offer_id = offer.offer_id,
                                               .type = SignalMessage::Type::Offer,
                                               .payload = encrypt(key_, sdp, rng_)});
    const auto waiting = std::exchange(offer.waiting_relays, {});
    for (std::size_t relay : waiting)
      send_offer_on(now, state, relay);
  } else if (state.answering && state.answering->pc == pc) {
    auto& answering = *state.answering;
    if (answering.answer_sent) return;
    answering.answer_sent = true;
    // §4.2 "On an offer" step 3: on the relay the offer came from, with the offer's offerId.
    publish(answering.relay, state.topic,
            message_text(SignalMessage{.peer_id = config_.self_id,
                                       .offer_id = answering.offer_id,
                                       .type = SignalMessage::Type::Answer,
                                       .payload = encrypt(key_, sdp, rng_)}));
    ++stats_.answers_sent;
    for (auto& text : std::exchange(answering.queued_candidates, {})) {
      publish(answering.relay, state.topic, std::move(text));
      ++stats_.candidates_sent;
    }
  }
}

void Coordinator::handle_local_candidate(TimePoint, PcId pc, const CandidateInit& candidate) {
  if (left_) return;
  const auto owner = pc_owner_.find(pc);
  if (owner == pc_owner_.end()) return;
  PeerState& state = peers_.at(owner->second);
  const std::size_t cap = config_.limits.max_local_candidates;
  if (state.offer && state.offer->pc == pc) {
    auto& offer = *state.offer;
    if (offer.local_candidates.size() >= cap) {
      ++stats_.dropped_local_candidates;
      return;
    }
    // One ciphertext per candidate, replayed identically on every relay the offer reaches.
    offer.local_candidates.push_back(
        message_text(SignalMessage{.peer_id = config_.self_id,
                                   .offer_id = offer.offer_id,
                                   .type = SignalMessage::Type::Candidate,
                                   .payload = encrypt(key_, to_json(candidate), rng_)}));
    for (std::size_t relay : offer.sent_relays) {
      publish(relay, state.topic, offer.local_candidates.back());
      ++stats_.candidates_sent;
    }
  } else if (state.answering && state.answering->pc == pc) {
    auto& answering = *state.answering;
    std::string text =
        message_text(SignalMessage{.peer_id = config_.self_id,
                                   .offer_id = answering.offer_id,
                                   .type = SignalMessage::Type::Candidate,
                                   .payload = encrypt(key_, to_json(candidate), rng_),
                                   .answerer_key_order = true});
    if (answering.answer_sent) {
      publish(answering.relay, state.topic, std::move(text));
      ++stats_.candidates_sent;
    } else if (answering.queued_candidates.size() < cap) {
      answering.queued_candidates.push_back(std::move(text));
    } else {
      ++stats_.dropped_local_candidates;
    }
  }
}

void Coordinator::handle_connected(TimePoint, PcId pc) {
  if (left_) return;
  const auto owner = pc_owner_.find(pc);
  if (owner == pc_owner_.end()) return;
  const PeerId peer = owner->second;
  PeerState& state = peers_.at(peer);
  if (state.connection) {
    // Already connected (twice on our side, or attached to a shared connection): JS keeps the
    // first connection and destroys the newcomer.
    if (state.connection->pc == pc) return;
    pc_owner_.erase(owner);
    if (state.offer && state.offer->pc == pc) state.offer.reset();
    if (state.answering && state.answering->pc == pc) state.answering.reset();
    command(ClosePc{pc, "superseded: already connected to this peer"});
    return;
  }
  state.connection = detail::Connection{.pc = pc};
  ++stats_.connections;
  if (state.offer && state.offer->pc == pc) {
    state.offer.reset();
  } else if (state.offer) {
    close_offer(state, "superseded: connected through another PC");
  }
  if (state.answering && state.answering->pc == pc) {
    state.answering.reset();
  } else if (state.answering) {
    close_answering(state, "superseded: connected through another PC");
  }
  state.buffered.clear();
}

void Coordinator::handle_pc_failed(TimePoint now, PcId pc) {
  if (left_) return;
  const auto owner = pc_owner_.find(pc);
  if (owner == pc_owner_.end()) return;
  const PeerId peer = owner->second;
  pc_owner_.erase(owner);
  PeerState& state = peers_.at(peer);
  if (state.connection && state.connection->pc == pc) {
    lose_connection(now, peer);
    return;
  }
  if (state.offer && state.offer->pc == pc) {
    // JS reports a failure after the SDP exchange (the offer was answered), once.
    if (state.offer->answered) report_connect_failure(peer, *state.offer);
    state.offer.reset();
  } else if (state.answering && state.answering->pc == pc) {
    state.answering.reset();
  }
  erase_if_idle(peer);
  check_deactivate();
}

void Coordinator::handle_peer_lost(TimePoint now, const PeerId& peer) {
  if (left_) return;
  const PeerState* state = find_peer(peer);
  // The app session tells every room; only a room that was connected to the peer reacts.
  if (!state || !state->connection) return;
  lose_connection(now, peer);
}

void Coordinator::lose_connection(TimePoint now, const PeerId& peer) {
  PeerState& state = peers_.at(peer);
  if (state.connection && state.connection->pc) pc_owner_.erase(*state.connection->pc);
  if (state.offer) close_offer(state, "peer lost");
  if (state.answering) close_answering(state, "peer lost");
  peers_.erase(peer);
  // §4.3: restart the burst so the peer (or its next incarnation) finds us again now rather than
  // at the next steady announce. A passive room instead checks whether it can sleep, as JS does.
  if (config_.passive)
    check_deactivate();
  else
    restart_all_bursts(now);
}

void Coordinator::handle_connection_health(TimePoint, const PeerId& peer, bool live) {
  if (left_) return;
  PeerState* state = find_peer(peer);
  if (!state || !state->connection) return;
  state->connection->live = live;
  // JS starts the grace period at the first message received while unhealthy.
  if (live) state->connection->unhealthy_since.reset();
}

// ---- Timers ----

void Coordinator::handle_timeout(TimePoint now) {
  if (left_ || !started_) return;
  for (std::size_t i = 0; i < relays_.size(); ++i) {
    const auto& r = relays_[i];
    if (r.ready && r.next_announce && *r.next_announce <= now) announce(now, i);
  }
  std::vector<PeerId> ids;
  ids.reserve(peers_.size());
  for (const auto& [peer, state] : peers_)
    ids.push_back(peer);
  for (const auto& peer : ids)
    if (PeerState* state = find_peer(peer)) expire_timers(now, peer, *state);
  if (deactivation_check_ && *deactivation_check_ <= now) {
    deactivation_check_.reset();
    check_deactivate();
  }
}

void Coordinator::expire_timers(TimePoint now, const PeerId& peer, PeerState& state) {
  bool work_ended = false;
  if (state.offer) {
    auto& offer = *state.offer;
    // The resend window closed: the next announce or poke from the peer re-sends the offer here.
    std::erase_if(offer.resend_blocked_until, [&](const auto& e) { return e.second <= now; });
    if (offer.expires <= now) {
      if (offer.answered) {
        ++stats_.connect_timeouts;
        report_connect_failure(peer, offer);
        close_offer(state, "connect timeout after the answer");
      } else {
        ++stats_.offers_expired;
        close_offer(state, "offer expired unanswered");
      }
      work_ended = true;
    }
  }
  if (state.answering && state.answering->expires <= now) {
    // JS also reports a JoinError here once its answer went out; we report connect failures on
    // the offering side only (docs/signaling.md).
    ++stats_.connect_timeouts;
    close_answering(state, "connect timeout after answering");
    work_ended = true;
  }
  for (auto it = state.buffered.begin(); it != state.buffered.end();) {
    if (it->second.since + config_.timing.buffered_candidate_ttl <= now) {
      stats_.dropped_candidate_expired += it->second.items.size();
      it = state.buffered.erase(it);
    } else {
      ++it;
    }
  }
  erase_if_idle(peer);
  if (work_ended) check_deactivate();
}

std::optional<TimePoint> Coordinator::poll_timeout() const {
  if (left_ || !started_) return std::nullopt;
  std::optional<TimePoint> next;
  const auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& r : relays_)
    if (r.ready && r.next_announce) consider(*r.next_announce);
  if (deactivation_check_) consider(*deactivation_check_);
  for (const auto& [peer, state] : peers_) {
    if (state.offer) {
      consider(state.offer->expires);
      for (const auto& [relay, until] : state.offer->resend_blocked_until)
        consider(until);
    }
    if (state.answering) consider(state.answering->expires);
    for (const auto& [key, buffer] : state.buffered)
      consider(buffer.since + config_.timing.buffered_candidate_ttl);
  }
  return next;
}

// ---- Output queues and introspection ----

std::optional<Command> Coordinator::poll_command() {
  if (commands_.empty()) return std::nullopt;
  Command c = std::move(commands_.front());
  commands_.pop_front();
  return c;
}

std::optional<Event> Coordinator::poll_event() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

PeerStatus Coordinator::peer_status(const PeerId& peer) const {
  const auto it = peers_.find(peer);
  if (it == peers_.end()) return PeerStatus::Unknown;
  const PeerState& s = it->second;
  if (s.connection) return PeerStatus::Connected;
  if (s.answering) return PeerStatus::Answering;
  if (s.offer) return PeerStatus::Offering;
  return PeerStatus::Idle;
}

// ---- Helpers ----

Coordinator::PeerState* Coordinator::find_peer(const PeerId& peer) {
  const auto it = peers_.find(peer);
  return it == peers_.end() ? nullptr : &it->second;
}

Coordinator::PeerState* Coordinator::get_or_create_peer(TimePoint now, const PeerId& peer) {
  if (PeerState* state = find_peer(peer)) {
    state->last_seen = now;
    return state;
  }
  if (peers_.size() >= config_.limits.max_peers) {
    // Evict the idle entry seen longest ago (it only remembers a rejected offer); if every entry
    // has work in progress, the newcomer waits for its next announce.
    auto victim = peers_.end();
    for (auto it = peers_.begin(); it != peers_.end(); ++it)
      if (!it->second.has_work() &&
          (victim == peers_.end() || it->second.last_seen < victim->second.last_seen))
        victim = it;
    if (victim == peers_.end()) {
      ++stats_.dropped_peer_limit;
      return nullptr;
    }
    for (const auto& [key, buffer] : victim->second.buffered)
      stats_.dropped_candidate_overflow += buffer.items.size();
    peers_.erase(victim);
  }
  PeerState& state = peers_[peer];
  state.topic = signal::self_topic(config_.app_id, config_.room_id, peer);
  state.last_seen = now;
  return &state;
}

void Coordinator::erase_if_idle(const PeerId& peer) {
  const auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  const PeerState& s = it->second;
  if (!s.has_work() && s.buffered.empty() && !s.rejected_offer) peers_.erase(it);
}

std::string Coordinator::message_text(SignalMessage msg) const {
  // §4.5: a passive room marks everything it sends, except pokes (written without this helper).
  msg.passive = config_.passive;
  return to_json(msg);
}

void Coordinator::publish(std::size_t relay, const std::string& topic, std::string text) {
  command(Publish{relay, topic, std::move(text)});
}

} // namespace posthorn::signal
