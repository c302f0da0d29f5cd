#pragma once
// The vocabulary between a room and its signaling state machine, whatever the medium: the
// commands a machine asks its driver to carry out (publish, create and feed PeerConnections), the
// events it reports, and the interface the room drives. Two machines implement it:
//   - signal::Coordinator, Trystero's topic pub/sub handshake (MQTT, Nostr, ws-relay; spec §4);
//   - signal::TorrentCoordinator, the WebTorrent tracker variant (offer pool, non-trickle; §5.2).
//
// Drive rules (as every posthorn core, STYLE.md):
//   - Inputs are the handle_* calls, each taking `now`.
//   - After any input, drain poll_command() until empty, then poll_event(), then re-arm one timer
//     for poll_timeout() and call handle_timeout() when it fires (late is fine, early is a no-op).
//   - Commands must be executed in order. Executing one may call back into the machine (a
//     CreateOffer's driver calls handle_local_description); that only appends to the queues.
//   - PcIds are assigned by the machine, start at 1 and are never reused; an id it no longer
//     knows is ignored by every input, so stale callbacks are harmless.

#include "core/time.hpp"
#include "signal/candidate_json.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace posthorn::signal {

using PeerId = std::string;
using PcId = std::uint64_t; ///< assigned by the signaling machine, never reused

// ---- Commands (drained with poll_command) ----

struct Subscribe { ///< subscribe on all relays
  std::string topic;
};
struct Unsubscribe {
  std::string topic;
};
struct Publish {
  std::size_t relay;
  std::string topic;
  std::string text;
};
/// New PC with the "data" channel; create the offer, set it as local description, then call
/// handle_local_description(pc, sdp). Trickled candidates go to handle_local_candidate.
struct CreateOffer {
  PcId pc;
  PeerId peer; ///< empty: an offer for whoever the tracker hands it to (torrent, §5.2)
  /// Non-trickle (torrent): report the description only once ICE gathering has completed (or
  /// after timing's gathering limit), with every candidate inside it.
  bool complete_description = false;
};
/// New PC; set the remote offer, create the answer, set it as local description, then call
/// handle_local_description(pc, sdp).
struct CreateAnswer {
  PcId pc;
  PeerId peer;
  std::string offer_sdp;
  bool complete_description = false; ///< as in CreateOffer
};
struct ApplyAnswer {
  PcId pc;
  std::string answer_sdp;
  /// Who answered, for an offer made before its peer was known (CreateOffer with no peer).
  PeerId peer;
};
/// Always after the PC's remote description command (CreateAnswer / ApplyAnswer).
struct AddRemoteCandidate {
  PcId pc;
  CandidateInit candidate;
};
/// Destroy that PC (expired, timed out, glare loser, superseded, left).
struct ClosePc {
  PcId pc;
  std::string reason;
};
/// The peer showed up here but is connected in another room of this app (§7.2): attach that
/// connection to this room, do not negotiate.
struct AttachShared {
  PeerId peer;
};
using Command = std::variant<Subscribe, Unsubscribe, Publish, CreateOffer, CreateAnswer,
                             ApplyAnswer, AddRemoteCandidate, ClosePc, AttachShared>;

// ---- Events (drained with poll_event) ----

/// JoinError texts of a password mismatch, as JS words them.
inline constexpr std::string_view kOfferPasswordError =
    "incorrect room password when decrypting offer";
inline constexpr std::string_view kAnswerPasswordError =
    "incorrect room password when decrypting answer";

/// JS's onJoinError texts: "incorrect room password when decrypting offer" / "… answer", and
/// "could not connect to peer <id> after exchanging SDP; …" when our answered offer times out.
struct JoinError {
  PeerId peer;
  std::string message;
};
struct Activated {};   ///< passive room woke up (§4.5): now announcing; send presence 1
struct Deactivated {}; ///< passive room went back to sleep: no longer announcing; send presence 0
/// A connected peer kept signaling while its connection was unhealthy for longer than
/// timing.transient_grace (§4.2): the coordinator forgot that connection and negotiates afresh.
/// The driver should close the old connection to that peer.
struct ConnectionAbandoned {
  PeerId peer;
};
using Event = std::variant<JoinError, Activated, Deactivated, ConnectionAbandoned>;

/// The interface a room drives (see the drive rules above). Thread safety: none; one instance
/// lives on one strand (its room's).
class RoomSignaling {
public:
  virtual ~RoomSignaling() = default;

  /// Subscribes (and, for an active room, starts what announcing needs). Idempotent.
  virtual void start(TimePoint now) = 0;
  /// Subscriptions are in place on `relay` (first time and after every reconnect): start or
  /// restart its announce burst (§4.3).
  virtual void handle_relay_ready(TimePoint now, std::size_t relay) = 0;
  /// The relay went away: no announces there until it is ready again.
  virtual void handle_relay_lost(TimePoint now, std::size_t relay) = 0;
  /// One message from a relay subscription.
  virtual void handle_message(TimePoint now, std::size_t relay, std::string_view topic,
                              std::string_view text) = 0;
  /// The local SDP (offer or answer) of a PC it asked for.
  virtual void handle_local_description(TimePoint now, PcId pc, std::string_view sdp) = 0;
  /// A trickled local candidate of a PC it asked for.
  virtual void handle_local_candidate(TimePoint now, PcId pc, const CandidateInit& candidate) = 0;
  /// The PC's data channel opened: the peer is connected.
  virtual void handle_connected(TimePoint now, PcId pc) = 0;
  /// That PC failed or closed, before or after connecting.
  virtual void handle_pc_failed(TimePoint now, PcId pc) = 0;
  /// A connected peer dropped (here or in the shared connection): forget it and look for it again.
  virtual void handle_peer_lost(TimePoint now, const PeerId& peer) = 0;
  virtual void handle_timeout(TimePoint now) = 0;
  /// Stop announcing, close every PC that is not connected, unsubscribe. Inputs afterwards are
  /// ignored.
  virtual void leave(TimePoint now) = 0;
  /// Answers "is this peer already connected in another room of this app?" (§7.2).
  virtual void set_shared_connection_lookup(std::function<bool(const PeerId&)> lookup) = 0;

  virtual std::optional<Command> poll_command() = 0;
  virtual std::optional<Event> poll_event() = 0;
  [[nodiscard]] virtual std::optional<TimePoint> poll_timeout() const = 0;
  /// False only for a passive room that is asleep (§4.5).
  [[nodiscard]] virtual bool is_active() const noexcept = 0;
};

} // namespace posthorn::signal
