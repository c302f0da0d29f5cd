#pragma once
// The signal messages of Trystero's topic strategies (spec/trystero-wire.md §4.1): JSON objects
// published on a room's rootTopic (announce) or on a peer's selfTopic (poke, offer, answer,
// candidate). This file only parses and writes them; the coordinator decides what they mean.
//
//   auto msg = parse_signal_message(text);     // receive validation of §4.1, steps 1–3, 5–6
//   if (!msg) { ++dropped; return; }           // JS drops silently, so do we
//   publish(topic, to_json(*msg));             // JS's key order, byte for byte

#include "core/error.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace posthorn::signal {

/// Larger inputs are refused before parsing. An offer from a JS pool carries a full SDP with
/// candidates, typically 1–6 KiB encrypted; 256 KiB leaves room for big media SDPs while bounding
/// what one relay message can make us allocate.
inline constexpr std::size_t kMaxSignalMessageBytes = 256 * 1024;

struct SignalMessage {
  enum class Type { Announce, Offer, Answer, Candidate };

  std::string peer_id;
  std::optional<std::string> offer_id;
  Type type = Type::Announce;
  /// The encrypted text (§3) of an offer, answer or candidate; empty for an announce or poke.
  std::string payload;
  /// The sender is a passive room (§4.5). Written only when true, as JS does.
  bool passive = false;
  /// Candidate only: the sender is the answering side, whose JS code writes the keys in the order
  /// {"peerId","candidate","offerId"} instead of the offerer's {"peerId","offerId","candidate"}.
  /// Parsing sets it from the key order, so a JS message round-trips byte for byte.
  bool answerer_key_order = false;

  friend bool operator==(const SignalMessage&, const SignalMessage&) = default;
};

/// Receive validation, in JS order (§4.1): the text must parse to a JSON object; if any of offer,
/// answer, candidate is present it must be a non-empty string, otherwise the whole message is
/// dropped; peerId must be a non-empty string. The type is offer, then candidate, then answer,
/// else announce. An offerId that is not a non-empty string counts as absent; passive is set only
/// by the JSON value true. Unknown fields are ignored. (Comparing peerId with our own id and the
/// topic check are the coordinator's.)
[[nodiscard]] result<SignalMessage> parse_signal_message(std::string_view json);

/// Compact JSON in JS's key order: announce {"peerId"}, offer {"peerId","offerId","offer"}, answer
/// {"peerId","answer","offerId"}, candidate by answerer_key_order; "passive":true last when set;
/// offerId left out when absent.
std::string to_json(const SignalMessage& message);

} // namespace posthorn::signal
