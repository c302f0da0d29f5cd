#pragma once
// The WebTorrent tracker protocol as Trystero's torrent strategy speaks it (spec/trystero-wire.md
// §5.2; the bittorrent-tracker npm server is the reference peer). Sans-IO: text in, values out,
// and back. Every message is one JSON object with "action":"announce".
//
//   client → tracker  announce  {"action":"announce","info_hash":IH,"peer_id":P,"numwant":3,
//                                "offers":[{"offer_id":O,"offer":{"type":"offer","sdp":ENC}},…]}
//                               (+ "left", "event" when given)
//                     answer    {"action":"announce","info_hash":IH,"peer_id":P,
//                                "answer":{"type":"answer","sdp":ENC},"offer_id":O,"to_peer_id":R}
//   tracker → client  reply     {"action":"announce","info_hash":IH,"interval":120,"complete":C,
//                                "incomplete":I} (+ "warning message")
//                     offer     {"action":"announce","offer":{…},"offer_id":O,"peer_id":R,
//                                "info_hash":IH}
//                     answer    {"action":"announce","answer":{…},"offer_id":O,"peer_id":R,
//                                "info_hash":IH}
//                     failure   {"failure reason":TEXT} (+ "action", "info_hash")
//
// info_hash, peer_id and to_peer_id are exactly 20 characters (trackers count UTF-16 code units;
// WebTorrent's are binary strings, Trystero's base36 text), checked here as 20 code points.
// ENC is carried opaquely. Unknown fields are ignored.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace posthorn::signal::tracker {

inline constexpr std::size_t kIdLength = 20;
/// bittorrent-tracker forwards at most this many offers of one announce (MAX_ANNOUNCE_PEERS is 82;
/// WebTorrent sends up to 10, Trystero 3); more are refused rather than truncated silently.
inline constexpr std::size_t kMaxOffers = 82;
inline constexpr std::size_t kMaxOfferIdBytes = 64;

struct Offer {
  std::string offer_id;
  std::string sdp; ///< Trystero: the encrypted SDP (spec §3)
  friend bool operator==(const Offer&, const Offer&) = default;
};

// ---- client → tracker ----

struct Announce {
  std::string info_hash;
  std::string peer_id;
  std::optional<std::uint32_t> numwant;
  std::optional<std::int64_t> left;
  std::optional<std::string> event; ///< "started", "stopped", "completed", "update", "paused"
  std::vector<Offer> offers;
  friend bool operator==(const Announce&, const Announce&) = default;
};
struct SendAnswer {
  std::string info_hash;
  std::string peer_id;
  std::string to_peer_id;
  std::string offer_id;
  std::string sdp;
  friend bool operator==(const SendAnswer&, const SendAnswer&) = default;
};
using ClientMessage = std::variant<Announce, SendAnswer>;

// ---- tracker → client ----

struct AnnounceReply {
  std::string info_hash;
  std::optional<std::int64_t> interval; ///< seconds
  std::int64_t complete = 0;
  std::int64_t incomplete = 0;
  std::optional<std::string> warning;
  friend bool operator==(const AnnounceReply&, const AnnounceReply&) = default;
};
/// Another peer's offer, forwarded by the tracker.
struct PeerOffer {
  std::string info_hash;
  std::string peer_id;
  std::string offer_id;
  std::string sdp;
  friend bool operator==(const PeerOffer&, const PeerOffer&) = default;
};
/// Another peer's answer to one of our offers, routed back by the tracker.
struct PeerAnswer {
  std::string info_hash;
  std::string peer_id;
  std::string offer_id;
  std::string sdp;
  friend bool operator==(const PeerAnswer&, const PeerAnswer&) = default;
};
struct Failure {
  std::string reason;
  std::optional<std::string> info_hash;
  friend bool operator==(const Failure&, const Failure&) = default;
};
using TrackerMessage = std::variant<AnnounceReply, PeerOffer, PeerAnswer, Failure>;

struct DecodeError {
  std::string reason;
};
template <class T> using decoded = std::variant<T, DecodeError>;

[[nodiscard]] decoded<ClientMessage> decode_client_message(std::string_view text);
/// A message whose offer or answer has no "sdp" (a trickling peer's) is a DecodeError: Trystero's
/// torrent signaling is non-trickle (§5.2).
[[nodiscard]] decoded<TrackerMessage> decode_tracker_message(std::string_view text);

/// Fields in Trystero's order, so a capture reads like a JS peer's.
[[nodiscard]] std::string encode(const ClientMessage& message);
[[nodiscard]] std::string encode(const TrackerMessage& message);

namespace detail {
/// The reference decoder, over an nlohmann DOM. decode_client_message is a hand-written scanner
/// (the relay's hot path) that must agree with it on every input: fuzz/tracker_codec_fuzz.cpp
/// checks that.
[[nodiscard]] decoded<ClientMessage> decode_client_message_dom(std::string_view text);
/// The reference writer, over an nlohmann DOM; encode(TrackerMessage) writes the same bytes.
[[nodiscard]] std::string encode_dom(const TrackerMessage& message);
} // namespace detail

/// Whether `id` is a valid info_hash / peer_id: exactly kIdLength code points of valid UTF-8.
[[nodiscard]] bool is_valid_id(std::string_view id) noexcept;

} // namespace posthorn::signal::tracker
