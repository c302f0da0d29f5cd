// TorrentCoordinator: what arrives from a tracker (spec/trystero-wire.md §5.2): replies, failures,
// other peers' offers and the answers to ours.
#include "signal/torrent_coordinator.hpp"

#include "core/log.hpp"
#include "core/overloaded.hpp"

#include <algorithm>

namespace posthorn::signal {

void TorrentCoordinator::handle_message(TimePoint now, std::size_t relay, std::string_view topic,
                                        std::string_view text) {
  if (left_ || !started_ || relay >= trackers_.size()) return;
  ++stats_.messages;
  if (topic != info_hash_) {
    ++stats_.dropped_foreign;
    return;
  }
  auto decoded = tracker::decode_tracker_message(text);
  if (const auto* error = std::get_if<tracker::DecodeError>(&decoded)) {
    ++stats_.dropped_malformed;
    POSTHORN_LOG(Debug, "signal", "tracker message dropped: {}", error->reason);
    return;
  }
  std::visit(
      overloaded{
          [&](const tracker::AnnounceReply& reply) {
            if (reply.info_hash != info_hash_) {
              ++stats_.dropped_foreign;
              return;
            }
            if (reply.warning)
              POSTHORN_LOG(Info, "signal", "tracker warning: {}", reply.warning->substr(0, 200));
            if (reply.interval) {
              // §5.2: clamp(interval × 1000, 10 000, 120 000) ms; bound before converting.
              const auto secs = std::clamp<std::int64_t>(*reply.interval, 0, 86'400);
              trackers_[relay].interval = std::clamp<Duration>(
                  seconds(secs), config_.timing.min_interval, config_.timing.max_interval);
            }
          },
          [&](const tracker::Failure& failure) {
            // JS only logs these; the tracker keeps serving other requests.
            ++stats_.tracker_failures;
            POSTHORN_LOG(Info, "signal", "tracker failure: {}", failure.reason.substr(0, 200));
          },
          [&](const tracker::PeerOffer& offer) {
            if (offer.info_hash != info_hash_) {
              ++stats_.dropped_foreign;
              return;
            }
            on_offer(now, relay, offer);
          },
          [&](const tracker::PeerAnswer& answer) {
            if (answer.info_hash != info_hash_) {
              ++stats_.dropped_foreign;
              return;
            }
            on_answer(now, answer);
          },
      },
      std::get<tracker::TrackerMessage>(decoded));
}

// An offer from R, forwarded by the tracker (§5.2 "Incoming offer", then §4.2's offer rules).
void TorrentCoordinator::on_offer(TimePoint now, std::size_t relay, const tracker::PeerOffer& o) {
  const PeerId& peer = o.peer_id;
  if (peer == config_.self_id) {
    ++stats_.dropped_own;
    return;
  }
  if (seen_recently(now, "offer:" + o.offer_id + ":" + peer)) {
    ++stats_.dropped_duplicate; // the same offer via another tracker
    return;
  }
  if (connected_.contains(peer) || is_busy_with(peer)) {
    ++stats_.dropped_connected;
    return;
  }
  if (shared_lookup_ && shared_lookup_(peer)) {
    // §7.2: connected in another room of this app; attach that connection instead.
    connected_[peer] = std::nullopt;
    ++stats_.shared_attached;
    command(AttachShared{peer});
    return;
  }
  // Glare: while we hold offers of our own, only a lower id's offer is answered; ours go to the
  // others. JS's hint "have outgoing offer" is the same test (§5.2).
  if (!pool_.empty() && config_.self_id < peer) {
    ++stats_.dropped_glare;
    nudge(now, relay); // it waits for one of ours: let the tracker hand it one now
    return;
  }
  if (pending_.size() + connected_.size() >= config_.limits.max_peers) {
    ++stats_.dropped_peer_limit;
    return;
  }
  auto sdp = decrypt(key_, o.sdp);
  if (!sdp) {
    ++stats_.offer_decrypt_failures;
    // One JoinError per peer, not one per pooled offer and announce.
    if (password_reported_.size() < config_.limits.max_peers &&
        password_reported_.insert(peer).second)
      event(JoinError{peer, std::string(kOfferPasswordError)});
    return;
  }
  password_reported_.erase(peer);
  const PcId pc = next_pc_++;
  pending_[pc] = Pending{.peer = peer,
                         .expires = now + config_.timing.connect_timeout,
                         .answer_relay = relay,
                         .offer_id = o.offer_id};
  command(CreateAnswer{
      .pc = pc, .peer = peer, .offer_sdp = std::move(*sdp), .complete_description = true});
  // A sleeping passive room wakes on a peer's offer (§4.5); torrent offers carry no passive flag.
  if (!active_) activate(now);
}

// R answered one of our pool offers (§5.2 "Incoming answer").
void TorrentCoordinator::on_answer(TimePoint now, const tracker::PeerAnswer& a) {
  const PeerId& peer = a.peer_id;
  if (peer == config_.self_id) {
    ++stats_.dropped_own;
    return;
  }
  if (seen_recently(now, "answer:" + a.offer_id + ":" + peer)) {
    ++stats_.dropped_duplicate;
    return;
  }
  auto it = std::find_if(pool_.begin(), pool_.end(), [&](const PoolOffer& o) {
    return o.offer_id == a.offer_id && o.sealed_sdp.has_value();
  });
  if (it == pool_.end()) {
    ++stats_.dropped_stale_answer;
    return;
  }
  // The offer is claimed whatever happens next: it was handed to this peer (claimOutstandingOffer).
  const PcId pc = it->pc;
  pool_.erase(it);
  if (active_) fill_pool(now); // its replacement gathers while this one connects
  if (connected_.contains(peer) || is_busy_with(peer)) {
    ++stats_.dropped_connected;
    command(ClosePc{pc, "peer already connected or connecting"});
    return;
  }
  auto sdp = decrypt(key_, a.sdp);
  if (!sdp) {
    ++stats_.answer_decrypt_failures;
    command(ClosePc{pc, "answer did not decrypt"});
    if (password_reported_.size() < config_.limits.max_peers &&
        password_reported_.insert(peer).second)
      event(JoinError{peer, std::string(kAnswerPasswordError)});
    return;
  }
  password_reported_.erase(peer);
  pending_[pc] = Pending{.peer = peer, .expires = now + config_.timing.connect_timeout};
  ++stats_.answers_applied;
  command(ApplyAnswer{.pc = pc, .answer_sdp = std::move(*sdp), .peer = peer});
}

bool TorrentCoordinator::is_busy_with(const PeerId& peer) const {
  return std::any_of(pending_.begin(), pending_.end(),
                     [&](const auto& entry) { return entry.second.peer == peer; });
}

// JS handledSignals: each (kind, offer_id, peer) once per dedupe window. Bounded: the oldest keys
// go first when a flood of distinct ids arrives.
bool TorrentCoordinator::seen_recently(TimePoint now, std::string key) {
  const Duration window = config_.timing.dedupe_window;
  while (!seen_order_.empty() && (seen_order_.front().first + window <= now ||
                                  seen_order_.size() > config_.limits.max_dedupe_entries)) {
    auto& [at, old] = seen_order_.front();
    if (auto it = seen_.find(old); it != seen_.end() && it->second == at) seen_.erase(it);
    seen_order_.pop_front();
  }
  if (auto it = seen_.find(key); it != seen_.end() && it->second + window > now) return true;
  seen_[key] = now;
  seen_order_.emplace_back(now, std::move(key));
  return false;
}

} // namespace posthorn::signal
