// Coordinator: the §4.2 rules for announces, offers, answers and candidates, and the shared
// connection shortcut of §7.2. Lifecycle, relays and timers are in coordinator.cpp.
#include "signal/coordinator.hpp"

#include "core/log.hpp"
#include "signal/trystero_ids.hpp"

#include <algorithm>

namespace posthorn::signal {
namespace {

// Remote candidates are de-duplicated on their JSON form: the same candidate arrives once per
// relay, and again with every re-sent offer.
std::string candidate_key(const CandidateInit& candidate) {
  return to_json(candidate);
}

} // namespace

// §4.2 "On an announcement from R" (root announce and poke alike).
void Coordinator::on_announce(TimePoint now, std::size_t relay, const PeerId& peer) {
  PeerState* state = find_peer(peer);
  // Step 1: already connected (checked by the caller), answering, or our offer was answered.
  if (state && (state->answering || (state->offer && state->offer->answered))) {
    ++stats_.dropped_duplicate;
    return;
  }
  // Step 2: the higher id never offers; it pokes the lower id on this relay instead, which makes
  // the lower id offer even if it joined first and missed our announce.
  if (!(config_.self_id < peer) && !(state && state->offer)) {
    publish(relay, state ? state->topic : signal::self_topic(config_.app_id, config_.room_id, peer),
            poke_text_);
    ++stats_.pokes_sent;
    return;
  }
  // Step 3: we lead. One offer per peer; once per relay per resend window.
  state = get_or_create_peer(now, peer);
  if (!state) return;
  if (state->offer && (state->offer->waiting_relays.contains(relay) ||
                       state->offer->resend_blocked_until.contains(relay))) {
    ++stats_.dropped_duplicate;
    return;
  }
  if (!state->offer) {
    const PcId pc = next_pc_++;
    state->offer = detail::OutgoingOffer{
        .pc = pc,
        .offer_id = gen_id(rng_, kOfferIdLength),
        .expires = now + config_.timing.offer_ttl,
    };
    pc_owner_[pc] = peer;
    ++stats_.offers_created;
    command(CreateOffer{pc, peer});
  }
  if (state->offer->message)
    send_offer_on(now, *state, relay);
  else
    state->offer->waiting_relays.insert(relay); // sent by handle_local_description
}

void Coordinator::send_offer_on(TimePoint now, PeerState& state, std::size_t relay) {
  auto& offer = *state.offer;
  publish(relay, state.topic, *offer.message);
  ++stats_.offers_sent;
  offer.resend_blocked_until[relay] = now + config_.timing.offer_resend_window;
  offer.sent_relays.insert(relay);
  // Candidates gathered before the offer reached this relay follow it there.
  for (const auto& text : offer.local_candidates) {
    publish(relay, state.topic, text);
    ++stats_.candidates_sent;
  }
}

// §4.2 "On an offer from R".
void Coordinator::on_offer(TimePoint now, std::size_t relay, const SignalMessage& msg) {
  const PeerId& peer = msg.peer_id;
  PeerState* state = find_peer(peer);
  // Step 1: the same offer over another relay, a re-send, or the peer's after ours was answered.
  if (state && (state->answering || (state->offer && state->offer->answered))) {
    ++stats_.dropped_duplicate;
    return;
  }
  // Step 2: glare. The lower id's offer wins.
  const bool offering = state && state->offer;
  if (offering && config_.self_id < peer) {
    ++stats_.dropped_glare;
    return;
  }
  const std::string& rejection_key = msg.offer_id ? *msg.offer_id : msg.payload;
  if (state && state->rejected_offer == rejection_key) {
    ++stats_.dropped_duplicate; // its JoinError was raised when it first arrived
    return;
  }
  // Decrypt before touching any state: unlike JS, a wrong-password offer does not cost us our own
  // outgoing offer.
  auto sdp = decrypt(key_, msg.payload);
  if (!sdp) {
    ++stats_.offer_decrypt_failures;
    if (PeerState* s = get_or_create_peer(now, peer)) s->rejected_offer = rejection_key;
    POSTHORN_LOG(Debug, "signal", "offer from ", redact(peer), " did not decrypt");
    event(JoinError{peer, std::string(kOfferPasswordError)});
    return;
  }
  state = get_or_create_peer(now, peer);
  if (!state) return;
  state->rejected_offer.reset();
  if (state->offer) {
    ++stats_.glare_yielded;
    close_offer(*state, "glare: the lower id's offer wins");
  }
  // Step 3: answer on the relay the offer came from, with its offerId.
  const PcId pc = next_pc_++;
  state->answering = detail::Answering{
      .pc = pc,
      .offer_id = msg.offer_id,
      .relay = relay,
      .expires = now + config_.timing.connect_timeout,
  };
  pc_owner_[pc] = peer;
  command(CreateAnswer{pc, peer, std::move(*sdp)});
  // Step 5: candidates that raced ahead of the offer.
  flush_buffered(*state);
}

// §4.2 "On an answer from R".
void Coordinator::on_answer(TimePoint now, const SignalMessage& msg) {
  PeerState* state = find_peer(msg.peer_id);
  if (!state || !state->offer || !state->offer->message) {
    ++stats_.dropped_stale_answer;
    POSTHORN_LOG(Debug, "signal", "answer from {} dropped: no offer of ours is pending",
                 redact(msg.peer_id));
    return;
  }
  auto& offer = *state->offer;
  if (offer.answered) {
    ++stats_.dropped_duplicate;
    return;
  }
  if (msg.offer_id && *msg.offer_id != offer.offer_id) {
    ++stats_.dropped_stale_answer;
    POSTHORN_LOG(Debug, "signal", "answer from {} dropped: it answers another offer",
                 redact(msg.peer_id));
    return;
  }
  if (offer.rejected_answer == msg.payload) {
    ++stats_.dropped_duplicate;
    return;
  }
  auto sdp = decrypt(key_, msg.payload);
  if (!sdp) {
    ++stats_.answer_decrypt_failures;
    offer.rejected_answer = msg.payload;
    event(JoinError{msg.peer_id, std::string(kAnswerPasswordError)});
    return;
  }
  state->last_seen = now;
  offer.answered = true;
  // The offer's TTL becomes the connect timeout; the resend windows no longer matter.
  offer.expires = now + config_.timing.connect_timeout;
  offer.resend_blocked_until.clear();
  offer.waiting_relays.clear();
  command(ApplyAnswer{offer.pc, std::move(*sdp)});
  for (const auto& candidate : std::exchange(offer.early_remote, {})) {
    command(AddRemoteCandidate{offer.pc, candidate});
    ++stats_.candidates_applied;
  }
}

// §4.2 "On a candidate from R".
void Coordinator::on_candidate(TimePoint now, const SignalMessage& msg) {
  auto plain = decrypt(key_, msg.payload);
  if (!plain) {
    ++stats_.dropped_candidate_decrypt; // JS drops these silently
    return;
  }
  auto candidate = parse_candidate_json(*plain);
  if (!candidate) {
    ++stats_.dropped_candidate_malformed;
    return;
  }
  ++stats_.candidates_received;
  PeerState* state = get_or_create_peer(now, msg.peer_id);
  if (!state) return;
  const auto& id = msg.offer_id;
  if (id && state->offer && state->offer->offer_id == *id) {
    deliver_to_offer(*state, *candidate);
  } else if (state->answering && (!id || state->answering->offer_id == id)) {
    // Stricter than JS, which hands any offerId to the answering PC: a different offerId belongs
    // to an offer we have not seen yet, so it waits in the buffer for it.
    deliver_to_answering(*state, *candidate);
  } else if (!id && state->offer) {
    deliver_to_offer(*state, *candidate);
  } else {
    buffer_candidate(now, *state, id.value_or(""), *candidate);
  }
}

void Coordinator::deliver_to_offer(PeerState& state, const CandidateInit& candidate) {
  auto& offer = *state.offer;
  auto& seen = offer.seen_remote.keys;
  std::string key = candidate_key(candidate);
  if (seen.contains(key)) {
    ++stats_.dropped_candidate_duplicate;
    return;
  }
  if (seen.size() >= config_.limits.max_seen_candidates) {
    ++stats_.dropped_candidate_overflow;
    return;
  }
  seen.insert(std::move(key));
  // Before the answer the PC has no remote description; hold the candidate until ApplyAnswer so
  // the driver never has to queue.
  if (!offer.answered) {
    offer.early_remote.push_back(candidate);
    ++stats_.candidates_buffered;
    return;
  }
  command(AddRemoteCandidate{offer.pc, candidate});
  ++stats_.candidates_applied;
}

void Coordinator::deliver_to_answering(PeerState& state, const CandidateInit& candidate) {
  auto& answering = *state.answering;
  auto& seen = answering.seen_remote.keys;
  std::string key = candidate_key(candidate);
  if (seen.contains(key)) {
    ++stats_.dropped_candidate_duplicate;
    return;
  }
  if (seen.size() >= config_.limits.max_seen_candidates) {
    ++stats_.dropped_candidate_overflow;
    return;
  }
  seen.insert(std::move(key));
  // CreateAnswer (which sets the remote offer) is always queued before this.
  command(AddRemoteCandidate{answering.pc, candidate});
  ++stats_.candidates_applied;
}

void Coordinator::buffer_candidate(TimePoint now, PeerState& state, const std::string& key,
                                   const CandidateInit& candidate) {
  auto it = state.buffered.find(key);
  if (it == state.buffered.end()) {
    if (state.buffered.size() >= config_.limits.max_buffered_offers_per_peer) {
      const auto oldest = std::min_element(
          state.buffered.begin(), state.buffered.end(),
          [](const auto& a, const auto& b) { return a.second.since < b.second.since; });
      stats_.dropped_candidate_overflow += oldest->second.items.size();
      state.buffered.erase(oldest);
    }
    it = state.buffered.emplace(key, detail::BufferedCandidates{.since = now}).first;
  }
  auto& items = it->second.items;
  if (std::find(items.begin(), items.end(), candidate) != items.end()) {
    ++stats_.dropped_candidate_duplicate;
    return;
  }
  if (items.size() >= config_.limits.max_buffered_candidates_per_offer) {
    ++stats_.dropped_candidate_overflow;
    return;
  }
  items.push_back(candidate);
  ++stats_.candidates_buffered;
}

// JS flushBufferedCandidates: the offer's own offerId first, then those that carried none.
void Coordinator::flush_buffered(PeerState& state) {
  const auto& offer_id = state.answering->offer_id;
  std::vector<std::string> keys;
  if (offer_id) keys.push_back(*offer_id);
  keys.emplace_back();
  for (const auto& key : keys) {
    const auto it = state.buffered.find(key);
    if (it == state.buffered.end()) continue;
    const auto items = std::move(it->second.items);
    state.buffered.erase(it);
    for (const auto& candidate : items)
      deliver_to_answering(state, candidate);
  }
}

// §7.2: the peer is connected in another room of this app; JS attaches the existing connection
// and drops whatever negotiation this room had started.
void Coordinator::attach_shared(TimePoint now, const PeerId& peer) {
  PeerState* state = get_or_create_peer(now, peer);
  if (!state) return;
  if (state->offer) close_offer(*state, "peer attached through a shared connection");
  if (state->answering) close_answering(*state, "peer attached through a shared connection");
  state->buffered.clear();
  state->connection = detail::Connection{};
  ++stats_.shared_attached;
  command(AttachShared{peer});
}

void Coordinator::report_connect_failure(const PeerId& peer, detail::OutgoingOffer& offer) {
  if (offer.failure_reported) return;
  offer.failure_reported = true;
  std::string message = "could not connect to peer " + peer + " after exchanging SDP; ";
  message += config_.has_turn_server
                 ? "check that your TURN server URLs and credentials are reachable by both peers"
                 : "configure TURN servers with turnConfig or rtcConfig.iceServers";
  event(JoinError{peer, std::move(message)});
}

void Coordinator::close_offer(PeerState& state, std::string reason) {
  const PcId pc = state.offer->pc;
  state.offer.reset();
  pc_owner_.erase(pc);
  command(ClosePc{pc, std::move(reason)});
}

void Coordinator::close_answering(PeerState& state, std::string reason) {
  const PcId pc = state.answering->pc;
  state.answering.reset();
  pc_owner_.erase(pc);
  command(ClosePc{pc, std::move(reason)});
}

} // namespace posthorn::signal
