#pragma once
// TorrentCoordinator: Trystero's signaling over WebTorrent trackers (spec/trystero-wire.md §5.2)
// as a sans-IO core, implementing signal::RoomSignaling (room_signaling.hpp: drive rules,
// commands, events).
//
// Trackers do not carry topics; they forward. So the handshake differs from the topic strategies:
//   - An active room keeps a pool of pool_size offers for nobody in particular (CreateOffer with
//     no peer). Each announce carries them all, with the same offer_ids and ciphertexts, to every
//     tracker; a tracker hands each to a different random member of the swarm (info_hash, §5.2).
//   - An offer from R is answered (back through the tracker it came from, to_peer_id R) only if
//     R's id is below ours, or if we hold no offers: JS's glare rule with its "have outgoing offer"
//     hint, which is almost always true. So exactly one side answers.
//   - An answer claims the pool offer with its offer_id; the PC is then bound to R (ApplyAnswer
//     carries R). The pool is refilled before the next announce.
//   - Non-trickle: offers and answers are sent only with ICE gathering complete (CreateOffer and
//     CreateAnswer ask for complete descriptions). There are no candidate messages.
//   - Cadence per tracker: the warm-up burst of §4.3, then the tracker's interval clamped to
//     [10 s, 120 s] (10 s until it tells). A sleeping passive room sends dormant announces
//     (left 0, no offers) every max(interval, 120 s) and wakes on the first offer it receives.
//   - Leaving sends event "stopped" so trackers stop handing our offers' slots to a departed peer
//     (Trystero does not; trackers then keep the peer until its socket closes).
//
// Remote input never throws, asserts or grows memory without bound: malformed, foreign, duplicate
// and over-limit messages are dropped and counted in stats().

#include "core/rng.hpp"
#include "core/time.hpp"
#include "signal/room_signaling.hpp"
#include "signal/signal_cipher.hpp"
#include "signal/tracker_codec.hpp"

#include <array>
#include <deque>
#include <map>
#include <set>
#include <vector>

namespace posthorn::signal {

struct TorrentTiming {
  /// Warm-up delays after a tracker connection opens (§4.3, as for every strategy).
  std::array<Duration, 3> announce_warmup{milliseconds(233), milliseconds(533), milliseconds(1333)};
  /// Until the tracker's first reply gives its interval (defaultAnnounceMs).
  Duration default_interval = milliseconds(10000);
  /// The tracker's interval is clamped to [min_interval, max_interval] (§5.2).
  Duration min_interval = milliseconds(10000);
  Duration max_interval = milliseconds(120000);
  /// A sleeping passive room announces every max(interval, dormant_interval) (dormantAnnounceMs).
  Duration dormant_interval = milliseconds(120000);
  /// Pool offers older than this are replaced before the next announce (offerRetentionMs).
  Duration offer_retention = milliseconds(120000);
  /// The same offer or answer arrives once per tracker: handled once per (kind, offer_id, peer)
  /// within this window (signalDedupeWindowMs).
  Duration dedupe_window = milliseconds(4000);
  /// Once SDP has been exchanged, the connection must open within this (§4.2; JS has no timer on
  /// the torrent offer path but recycles the PC after its lease, we bound it the same as topics).
  Duration connect_timeout = milliseconds(23333);
  /// A higher id's offer that we ignore (glare) tells us it waits for ours: announce on that
  /// tracker now rather than at the next interval (up to 120 s), at most this often. Ours, not
  /// JS's: a lower-id Trystero peer leaves a higher id waiting until its next announce.
  Duration nudge_spacing = milliseconds(5000);
  /// A passive room re-checks this long after waking whether any peer work exists (§4.5).
  Duration passive_activation_grace = milliseconds(7533);
};

struct TorrentLimits {
  /// Outstanding offers per room (offerPoolSize).
  std::size_t pool_size = 3;
  /// Peers we answer or connect to at once; beyond this, new offers are dropped (counted).
  std::size_t max_peers = 256;
  /// Remembered (kind, offer_id, peer) keys for de-duplication.
  std::size_t max_dedupe_entries = 4096;
};

struct TorrentConfig {
  std::string app_id, room_id, password;
  std::string self_id; ///< 20 characters: it is our tracker peer_id
  std::size_t relay_count = 1;
  bool passive = false;
  TorrentTiming timing{};
  TorrentLimits limits{};
};

struct TorrentStats {
  std::uint64_t messages = 0;
  std::uint64_t dropped_malformed = 0;    ///< not a tracker message (or a trickling peer's)
  std::uint64_t dropped_foreign = 0;      ///< another info_hash
  std::uint64_t dropped_own = 0;          ///< our own peer_id
  std::uint64_t dropped_duplicate = 0;    ///< the same offer or answer via another tracker
  std::uint64_t dropped_connected = 0;    ///< from a peer we are connected or connecting to
  std::uint64_t dropped_glare = 0;        ///< a higher id's offer while we hold offers
  std::uint64_t dropped_stale_answer = 0; ///< no pool offer with that offer_id
  std::uint64_t dropped_peer_limit = 0;   ///< limits.max_peers reached
  std::uint64_t tracker_failures = 0;     ///< "failure reason" replies (only logged, as JS)
  std::uint64_t offer_decrypt_failures = 0;
  std::uint64_t answer_decrypt_failures = 0;
  std::uint64_t announces_sent = 0;
  std::uint64_t nudges = 0; ///< early announces for a waiting higher id
  std::uint64_t offers_created = 0;
  std::uint64_t offers_expired = 0; ///< replaced after offer_retention
  std::uint64_t answers_sent = 0;
  std::uint64_t answers_applied = 0;
  std::uint64_t connect_timeouts = 0;
  std::uint64_t connections = 0;
  std::uint64_t shared_attached = 0;
  std::uint64_t activations = 0;
  std::uint64_t deactivations = 0;
};

class TorrentCoordinator final : public RoomSignaling {
public:
  /// `rng` (offer ids, IVs) must outlive the coordinator. self_id must be 20 characters.
  TorrentCoordinator(TorrentConfig config, Rng& rng);

  void start(TimePoint now) override;
  void handle_relay_ready(TimePoint now, std::size_t relay) override;
  void handle_relay_lost(TimePoint now, std::size_t relay) override;
  void handle_message(TimePoint now, std::size_t relay, std::string_view topic,
                      std::string_view text) override;
  void handle_local_description(TimePoint now, PcId pc, std::string_view sdp) override;
  /// Ignored: torrent signaling is non-trickle.
  void handle_local_candidate(TimePoint, PcId, const CandidateInit&) override {}
  void handle_connected(TimePoint now, PcId pc) override;
  void handle_pc_failed(TimePoint now, PcId pc) override;
  void handle_peer_lost(TimePoint now, const PeerId& peer) override;
  void handle_timeout(TimePoint now) override;
  void leave(TimePoint now) override;
  void set_shared_connection_lookup(std::function<bool(const PeerId&)> lookup) override;

  std::optional<Command> poll_command() override;
  std::optional<Event> poll_event() override;
  [[nodiscard]] std::optional<TimePoint> poll_timeout() const override;
  [[nodiscard]] bool is_active() const noexcept override { return active_; }

  [[nodiscard]] const TorrentStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const std::string& info_hash() const noexcept { return info_hash_; }
  /// Pool offers (with or without their SDP yet).
  [[nodiscard]] std::size_t pool_offers() const noexcept { return pool_.size(); }
  [[nodiscard]] bool is_connected(const PeerId& peer) const { return connected_.contains(peer); }
  /// (kind, offer_id, peer) keys held for de-duplication: at most limits.max_dedupe_entries.
  [[nodiscard]] std::size_t remembered_signals() const noexcept { return seen_.size(); }

private:
  struct PoolOffer {
    PcId pc = 0;
    std::string offer_id;
    TimePoint created{};
    std::optional<std::string> sealed_sdp; ///< encrypted, once the description is complete
  };
  /// A PC negotiating with a known peer: our claimed offer, or our answer to its offer.
  struct Pending {
    PeerId peer;
    TimePoint expires{};
    // Answering only: where and how the answer goes once the description is complete.
    std::optional<std::size_t> answer_relay;
    std::string offer_id;
  };
  struct TrackerCadence {
    bool ready = false;
    std::size_t announces = 0; ///< since the burst (re)started; < 4 means warming up
    std::optional<TimePoint> next_announce;
    bool waiting_for_pool = false; ///< due, but a pool offer has no description yet
    Duration interval{};
    std::optional<TimePoint> last_announce; ///< with offers
    std::optional<TimePoint> last_nudge;
  };

  void on_offer(TimePoint now, std::size_t relay, const tracker::PeerOffer& offer);
  void on_answer(TimePoint now, const tracker::PeerAnswer& answer);
  bool seen_recently(TimePoint now, std::string key);
  [[nodiscard]] bool is_busy_with(const PeerId& peer) const;

  void announce(TimePoint now, std::size_t relay);
  void nudge(TimePoint now, std::size_t relay);
  void send_announce(TimePoint now, std::size_t relay);
  void schedule_next(TimePoint now, std::size_t relay);
  void restart_all_bursts(TimePoint now);
  void fill_pool(TimePoint now);
  void close_pool(std::string reason);
  [[nodiscard]] bool pool_ready() const;
  void activate(TimePoint now);
  void check_deactivate(TimePoint now);
  void close_pending(PcId pc, std::string reason);

  void command(Command c) { commands_.push_back(std::move(c)); }
  void event(Event e) { events_.push_back(std::move(e)); }

  TorrentConfig config_;
  Rng& rng_;
  SignalKey key_;
  std::string info_hash_;
  std::function<bool(const PeerId&)> shared_lookup_;

  bool started_ = false;
  bool left_ = false;
  bool active_ = true;
  std::optional<TimePoint> deactivation_check_;
  std::vector<TrackerCadence> trackers_;
  std::vector<PoolOffer> pool_;
  std::map<PcId, Pending> pending_;                 ///< claimed offers and answers, by PC
  std::map<PeerId, std::optional<PcId>> connected_; ///< nullopt: another room's shared link
  std::set<PeerId> password_reported_;              ///< JoinError raised once per peer
  std::map<std::string, TimePoint> seen_;           ///< de-duplication keys → first seen
  std::deque<std::pair<TimePoint, std::string>> seen_order_;
  PcId next_pc_ = 1;

  std::deque<Command> commands_;
  std::deque<Event> events_;
  TorrentStats stats_;
};

} // namespace posthorn::signal
