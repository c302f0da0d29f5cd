#pragma once
// Private per-relay and per-peer state of the Coordinator (coordinator.hpp). Plain data; the rules
// that change it live in coordinator*.cpp. Kept in its own header so coordinator.hpp reads as the
// API.

#include "core/time.hpp"
#include "signal/candidate_json.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace posthorn::signal::detail {

using PcId = std::uint64_t;

/// The announce cadence of one relay connection (§4.3).
struct RelayState {
  bool ready = false;        ///< subscriptions in place
  std::size_t announces = 0; ///< sent since the burst (re)started; < 4 means still warming up
  std::optional<TimePoint> next_announce;
};

/// Remote candidates already handed to one PC, so duplicates over several relays are dropped.
struct SeenCandidates {
  std::set<std::string> keys;
};

/// Our offer to one peer (§4.2 "On an announcement"). One offerId and one ciphertext for its whole
/// life, so every re-send is byte-identical and the receiver's de-duplication works.
struct OutgoingOffer {
  PcId pc = 0;
  std::string offer_id;
  std::optional<std::string> message;   ///< the offer's JSON text, once the local SDP is known
  std::set<std::size_t> waiting_relays; ///< asked for before the SDP was ready
  std::map<std::size_t, TimePoint> resend_blocked_until; ///< relay → end of its resend window
  std::set<std::size_t> sent_relays; ///< every relay it went out on: our candidates follow it
  std::vector<std::string> local_candidates; ///< candidate messages (JSON text), replayed
  bool answered = false;
  bool failure_reported = false;
  std::optional<std::string> rejected_answer; ///< an answer that did not decrypt, reported once
  TimePoint expires{};
  std::vector<CandidateInit> early_remote; ///< the answerer's candidates that beat its answer
  SeenCandidates seen_remote;
};

/// Our answer to one peer's offer (§4.2 "On an offer").
struct Answering {
  PcId pc = 0;
  std::optional<std::string> offer_id;
  std::size_t relay = 0; ///< the answer and our candidates go back on the offer's relay
  bool answer_sent = false;
  std::vector<std::string> queued_candidates; ///< candidate messages waiting for the answer
  TimePoint expires{};
  SeenCandidates seen_remote;
};

struct BufferedCandidates {
  TimePoint since{};
  std::vector<CandidateInit> items;
};

struct Connection {
  std::optional<PcId> pc; ///< nullopt: another room's shared connection (AttachShared)
  bool live = true;
  std::optional<TimePoint> unhealthy_since; ///< first message while not live (§4.2)
};

struct PeerState {
  std::string topic; ///< selfTopic(peer), where everything for it is published
  std::optional<OutgoingOffer> offer;
  std::optional<Answering> answering;
  std::optional<Connection> connection;
  /// Remote candidates for a PC that does not exist yet, by offerId ("" for none).
  std::map<std::string, BufferedCandidates> buffered;
  /// offerId (or the ciphertext, without one) of an offer that did not decrypt: reported once.
  std::optional<std::string> rejected_offer;
  TimePoint last_seen{};

  [[nodiscard]] bool has_work() const noexcept {
    return offer.has_value() || answering.has_value() || connection.has_value();
  }
};

} // namespace posthorn::signal::detail
