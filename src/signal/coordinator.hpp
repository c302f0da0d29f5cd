#pragma once
// Coordinator: Trystero's per-room signaling state machine for the topic strategies (Nostr, MQTT,
// Supabase; spec/trystero-wire.md §4.2–§4.5) as a sans-IO core. It decides who offers (always the
// lower peer id), what to publish on which relay and when, and which PeerConnections to create,
// feed and destroy. It owns no sockets, no PeerConnections, no clock and no global RNG.
//
// It implements signal::RoomSignaling (room_signaling.hpp: the drive rules, commands and events).
// Relay traffic arrives as handle_message(relay, topic, text); PeerConnection progress as
// handle_local_description, handle_local_candidate, handle_connected, handle_pc_failed.
//
// Remote input never throws, asserts or grows memory without bound: malformed, foreign, duplicate
// and over-limit messages are dropped and counted in stats().
//
// Thread safety: none; one instance lives on one strand (its room's).

#include "core/rng.hpp"
#include "core/time.hpp"
#include "signal/candidate_json.hpp"
#include "signal/coordinator_state.hpp"
#include "signal/coordinator_timing.hpp"
#include "signal/room_signaling.hpp"
#include "signal/signal_cipher.hpp"
#include "signal/signal_message.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace posthorn::signal {

struct CoordinatorConfig {
  std::string app_id, room_id, password, self_id;
  std::size_t relay_count = 1;
  bool passive = false; ///< §4.5: stay dormant until a non-passive peer shows up
  CoordinatorTiming timing{};
  CoordinatorLimits limits{};
  /// Only picks the wording of the connect-timeout JoinError, as JS does (it suggests configuring
  /// TURN when none is configured, and checking it otherwise).
  bool has_turn_server = false;
};

// ---- Introspection ----

enum class PeerStatus { Unknown, Idle, Offering, Answering, Connected };

/// Counters for tests, logs and the CLI. Monotonic.
struct CoordinatorStats {
  // Input.
  std::uint64_t messages = 0;              ///< handle_message calls while joined
  std::uint64_t dropped_malformed = 0;     ///< failed parse_signal_message (§4.1)
  std::uint64_t dropped_own = 0;           ///< our own peerId (MQTT echoes our publishes)
  std::uint64_t dropped_foreign_topic = 0; ///< neither our rootTopic nor our selfTopic
  std::uint64_t dropped_passive_peer = 0;  ///< passive room, passive sender (§4.5)
  std::uint64_t dropped_inactive = 0;      ///< passive room asleep, message cannot wake it
  std::uint64_t dropped_connected = 0;     ///< from a peer we are connected to (§4.2)
  std::uint64_t dropped_duplicate = 0;     ///< announce/offer/answer already handled
  std::uint64_t dropped_stale_answer = 0;  ///< no matching outgoing offer
  std::uint64_t dropped_glare = 0;         ///< higher id's offer while we offer (§4.2)
  std::uint64_t dropped_peer_limit = 0;    ///< limits.max_peers reached, nothing idle to evict
  std::uint64_t offer_decrypt_failures = 0;
  std::uint64_t answer_decrypt_failures = 0;
  std::uint64_t dropped_candidate_decrypt = 0;
  std::uint64_t dropped_candidate_malformed = 0;
  std::uint64_t dropped_candidate_duplicate = 0;
  std::uint64_t dropped_candidate_overflow = 0; ///< over a buffer limit (evictions included)
  std::uint64_t dropped_candidate_expired = 0;  ///< buffered, never claimed
  std::uint64_t dropped_local_candidates = 0;   ///< ours, over limits.max_local_candidates
  // Output and transitions.
  std::uint64_t announces_sent = 0;
  std::uint64_t pokes_sent = 0;
  std::uint64_t offers_created = 0; ///< CreateOffer commands
  std::uint64_t offers_sent = 0;    ///< offer publishes, re-sends included
  std::uint64_t answers_sent = 0;
  std::uint64_t candidates_sent = 0; ///< candidate publishes, replays included
  std::uint64_t candidates_received = 0;
  std::uint64_t candidates_buffered = 0;
  std::uint64_t candidates_applied = 0; ///< AddRemoteCandidate commands
  std::uint64_t offers_expired = 0;     ///< unanswered for timing.offer_ttl
  std::uint64_t connect_timeouts = 0;   ///< SDP exchanged, no connection in time (both roles)
  std::uint64_t glare_yielded = 0;      ///< our offer dropped for a lower id's offer
  std::uint64_t connections = 0;        ///< handle_connected for a live PC
  std::uint64_t shared_attached = 0;    ///< AttachShared commands
  std::uint64_t connections_abandoned = 0;
  std::uint64_t activations = 0;
  std::uint64_t deactivations = 0;
};

class Coordinator final : public RoomSignaling {
public:
  /// `rng` (offerIds, IVs) must outlive the coordinator. The config's self_id must be non-empty.
  Coordinator(CoordinatorConfig config, Rng& rng);

  /// Emits Subscribe(selfTopic) then Subscribe(rootTopic); a passive room subscribes to the root
  /// only (§4.5). Idempotent.
  void start(TimePoint now) override;
  /// Subscriptions are in place on `relay`: start (or restart, after a reconnect) its announce
  /// burst (§4.3). A repeat while the burst is still warming up changes nothing, so the driver may
  /// report readiness once per topic.
  void handle_relay_ready(TimePoint now, std::size_t relay) override;
  /// The relay went away: no announces there until it is ready again.
  void handle_relay_lost(TimePoint now, std::size_t relay) override;
  /// One message from a relay subscription.
  void handle_message(TimePoint now, std::size_t relay, std::string_view topic,
                      std::string_view text) override;
  /// The local SDP (offer or answer) of a PC we asked for.
  void handle_local_description(TimePoint now, PcId pc, std::string_view sdp) override;
  /// A trickled local candidate of a PC we asked for.
  void handle_local_candidate(TimePoint now, PcId pc, const CandidateInit& candidate) override;
  /// The PC's data channel opened: the peer is connected, and its signaling is ignored while the
  /// connection is live (§4.2).
  void handle_connected(TimePoint now, PcId pc) override;
  /// That PC failed or closed, before or after connecting.
  void handle_pc_failed(TimePoint now, PcId pc) override;
  /// A connected peer dropped (here or in the shared connection): forget it and restart the
  /// announce burst on every ready relay, so it is found again at once (§4.3: JS means to, but
  /// 0.25.4 does not reach that code; rediscovery would wait for a steady announce).
  void handle_peer_lost(TimePoint now, const PeerId& peer) override;
  /// Optional: the connection to a connected peer became unhealthy (`live` false: channel not
  /// open, PC not failed) or recovered. Enables JS's transient rule (§4.2): signaling from an
  /// unhealthy peer is ignored for timing.transient_grace, then the connection is abandoned.
  void handle_connection_health(TimePoint now, const PeerId& peer, bool live);
  void handle_timeout(TimePoint now) override;
  /// Stop announcing, close every PC that is not connected, unsubscribe. Inputs afterwards are
  /// ignored.
  void leave(TimePoint now) override;
  /// Answers "is this peer already connected in another room of this app?" (§7.2). Called on
  /// every message from a peer this room is not connected to.
  void
  set_shared_connection_lookup(std::function<bool(const PeerId&)> is_connected_elsewhere) override;

  std::optional<Command> poll_command() override;
  std::optional<Event> poll_event() override;
  [[nodiscard]] std::optional<TimePoint> poll_timeout() const override;

  [[nodiscard]] const CoordinatorStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const std::string& root_topic() const noexcept { return root_topic_; }
  [[nodiscard]] const std::string& self_topic() const noexcept { return self_topic_; }
  /// False only for a passive room that is asleep (§4.5).
  [[nodiscard]] bool is_active() const noexcept override { return active_; }
  [[nodiscard]] PeerStatus peer_status(const PeerId& peer) const;
  [[nodiscard]] std::size_t tracked_peers() const noexcept { return peers_.size(); }

private:
  using PeerState = detail::PeerState;

  // Message handlers (coordinator_negotiation.cpp).
  void on_announce(TimePoint now, std::size_t relay, const PeerId& peer);
  void on_offer(TimePoint now, std::size_t relay, const SignalMessage& msg);
  void on_answer(TimePoint now, const SignalMessage& msg);
  void on_candidate(TimePoint now, const SignalMessage& msg);
  void attach_shared(TimePoint now, const PeerId& peer);
  void send_offer_on(TimePoint now, PeerState& state, std::size_t relay);
  void deliver_to_offer(PeerState& state, const CandidateInit& candidate);
  void deliver_to_answering(PeerState& state, const CandidateInit& candidate);
  void buffer_candidate(TimePoint now, PeerState& state, const std::string& key,
                        const CandidateInit& candidate);
  void flush_buffered(PeerState& state);
  void report_connect_failure(const PeerId& peer, detail::OutgoingOffer& offer);
  void close_offer(PeerState& state, std::string reason);
  void close_answering(PeerState& state, std::string reason);

  // Announcing and passive mode (coordinator.cpp).
  void announce(TimePoint now, std::size_t relay);
  void restart_burst(TimePoint now, std::size_t relay);
  void restart_all_bursts(TimePoint now);
  void stop_announcing();
  void activate(TimePoint now);
  void check_deactivate();
  void expire_timers(TimePoint now, const PeerId& peer, PeerState& state);
  void lose_connection(TimePoint now, const PeerId& peer);

  // Helpers.
  PeerState* find_peer(const PeerId& peer);
  PeerState* get_or_create_peer(TimePoint now, const PeerId& peer);
  void erase_if_idle(const PeerId& peer);
  std::string message_text(SignalMessage msg) const;
  void publish(std::size_t relay, const std::string& topic, std::string text);
  void command(Command c) { commands_.push_back(std::move(c)); }
  void event(Event e) { events_.push_back(std::move(e)); }

  CoordinatorConfig config_;
  Rng& rng_;
  SignalKey key_;
  std::string root_topic_;
  std::string self_topic_;
  std::string announce_text_; ///< {"peerId":S} (+passive)
  std::string poke_text_;     ///< {"peerId":S}, never passive (§4.1)
  std::function<bool(const PeerId&)> shared_lookup_;

  bool started_ = false;
  bool left_ = false;
  bool active_ = true;
  bool self_subscribed_ = false;
  std::optional<TimePoint> deactivation_check_;
  std::vector<detail::RelayState> relays_;
  std::map<PeerId, PeerState> peers_;
  std::map<PcId, PeerId> pc_owner_; ///< every PC we asked for and have not forgotten
  PcId next_pc_ = 1;

  std::deque<Command> commands_;
  std::deque<Event> events_;
  CoordinatorStats stats_;
};

} // namespace posthorn::signal
