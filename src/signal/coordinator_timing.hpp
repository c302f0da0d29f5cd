#pragma once
// The coordinator's timers and bounds. The timers are Trystero 0.25.4's values
// (spec/trystero-wire.md §4.2–§4.5; signal-handler.ts and strategy.ts in @trystero-p2p/core): a JS
// peer's behaviour depends on them, so change them only to match a different JS version. The
// bounds are ours: JS keeps unbounded maps, we must not (remote input never grows memory without
// bound).

#include "core/time.hpp"

#include <array>
#include <cstddef>

namespace posthorn::signal {

struct CoordinatorTiming {
  /// Delays between the first announces on a relay after its subscription is in place (§4.3):
  /// announces go out at 0, 0.233, 0.766 and 2.099 s, so a peer that joins at the same moment
  /// is found within a couple of seconds even if the first announce raced its subscription.
  std::array<Duration, 3> announce_warmup{milliseconds(233), milliseconds(533), milliseconds(1333)};
  /// Steady announce interval of the topic strategies (Nostr, MQTT, Supabase: 60 000 ms, §4.3).
  /// Torrent uses the tracker's interval instead; a warm-up step never exceeds this.
  Duration steady_announce_interval = milliseconds(60000);
  /// An offer sent on a relay is not re-sent there for 0.9 × 5 333 ms (§4.2 announce step 3: JS's
  /// prunePendingOffer runs at 0.9 × announceIntervalMs, and announceIntervalMs stays 5 333 for
  /// topic strategies). After that the next announce or poke re-sends the identical offer, which
  /// recovers from a relay that dropped it.
  Duration offer_resend_window = microseconds(4'799'700);
  /// An unanswered offer is dropped after 57 333 ms (offerTtl, §4.2 "Lifetimes"); the next
  /// announce then makes a fresh one.
  Duration offer_ttl = milliseconds(57333);
  /// Once SDP has been exchanged, the connection must open within 23 333 ms or the PC is destroyed
  /// (offerPostAnswerTtlMs on the offering side, answeringTtlMs on the answering side, §4.2).
  Duration connect_timeout = milliseconds(23333);
  /// A connected peer whose connection is unhealthy (channel not open, PC not failed) keeps its
  /// signaling suppressed for 7 533 ms after its first message, then the old connection is
  /// abandoned and the new signaling processed (disconnectedPeerGraceMs, §4.2 "Connected").
  Duration transient_grace = milliseconds(7533);
  /// A passive room re-checks 7 533 ms after activation whether any peer work exists, and goes
  /// back to sleep if not (passiveActivationGraceMs, §4.5).
  Duration passive_activation_grace = milliseconds(7533);
  /// Remote candidates buffered for an offer we have not seen are dropped after this long: the
  /// sender's offer has expired by then (its offerTtl), so they can never be used. Ours; JS keeps
  /// them until the peer state is dropped.
  Duration buffered_candidate_ttl = milliseconds(57333);
};

struct CoordinatorLimits {
  /// Remote peers with signaling state in one room. A busy public room has a few dozen; beyond
  /// this, idle entries are evicted first and new peers are dropped (counted) if none is idle.
  std::size_t max_peers = 256;
  /// Remote candidates buffered per offerId before the offer arrives (or before the answer is
  /// applied). A browser gathers well under 20 per ICE restart.
  std::size_t max_buffered_candidates_per_offer = 32;
  /// Distinct offerIds with buffered candidates per peer; the oldest buffer is evicted first.
  std::size_t max_buffered_offers_per_peer = 4;
  /// Our own candidates kept per PC for replay on later relays.
  std::size_t max_local_candidates = 64;
  /// Remote candidates remembered per PC to drop duplicates arriving over several relays.
  std::size_t max_seen_candidates = 64;
};

} // namespace posthorn::signal
