// The WebTorrent tracker codec both ways. Invariants beyond "no crash":
//  - the relay's hand-written decoder (decode_client_message) agrees with the DOM decoder on
//    every input: both accept with equal results, or both refuse;
//  - the hand-written writer (encode of a tracker message) writes the DOM writer's bytes;
//  - a decoded message encodes to text that decodes to the same message;
//  - nothing accepted breaks a bound: ids are valid 20-character ids, offer ids non-empty and at
//    most kMaxOfferIdBytes, SDPs non-empty, at most kMaxOffers offers.
#include "signal/tracker_codec.hpp"

#include <cstdlib>
#include <string>

namespace tracker = posthorn::signal::tracker;

namespace {

void check_offer_id(const std::string& id) {
  if (id.empty() || id.size() > tracker::kMaxOfferIdBytes) std::abort();
}

void check_bounds(const tracker::ClientMessage& m) {
  if (const auto* a = std::get_if<tracker::Announce>(&m)) {
    if (!tracker::is_valid_id(a->info_hash) || !tracker::is_valid_id(a->peer_id)) std::abort();
    if (a->offers.size() > tracker::kMaxOffers) std::abort();
    for (const auto& o : a->offers) {
      check_offer_id(o.offer_id);
      if (o.sdp.empty()) std::abort();
    }
  } else {
    const auto& s = std::get<tracker::SendAnswer>(m);
    if (!tracker::is_valid_id(s.info_hash) || !tracker::is_valid_id(s.peer_id) ||
        !tracker::is_valid_id(s.to_peer_id) || s.sdp.empty())
      std::abort();
    check_offer_id(s.offer_id);
  }
}

void check_bounds(const tracker::TrackerMessage& m) {
  auto forwarded = [](const auto& f) {
    if (!tracker::is_valid_id(f.info_hash) || !tracker::is_valid_id(f.peer_id) || f.sdp.empty())
      std::abort();
    check_offer_id(f.offer_id);
  };
  if (const auto* o = std::get_if<tracker::PeerOffer>(&m)) forwarded(*o);
  if (const auto* a = std::get_if<tracker::PeerAnswer>(&m)) forwarded(*a);
  if (const auto* r = std::get_if<tracker::AnnounceReply>(&m))
    if (!tracker::is_valid_id(r->info_hash)) std::abort();
}

template <class Message, class Decode> void round_trip(std::string_view text, Decode decode) {
  auto first = decode(text);
  const auto* m = std::get_if<Message>(&first);
  if (!m) return;
  check_bounds(*m);
  auto again = decode(tracker::encode(*m));
  if (!std::holds_alternative<Message>(again) || std::get<Message>(again) != *m) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    auto fast = tracker::decode_client_message(text);
    auto dom = tracker::detail::decode_client_message_dom(text);
    if (fast.index() != dom.index()) std::abort();
    if (const auto* m = std::get_if<tracker::ClientMessage>(&fast))
      if (*m != std::get<tracker::ClientMessage>(dom)) std::abort();
  }
  if (auto decoded = tracker::decode_tracker_message(text);
      std::holds_alternative<tracker::TrackerMessage>(decoded)) {
    const auto& m = std::get<tracker::TrackerMessage>(decoded);
    if (tracker::encode(m) != tracker::detail::encode_dom(m)) std::abort();
  }
  round_trip<tracker::ClientMessage>(
      text, [](std::string_view t) { return tracker::decode_client_message(t); });
  round_trip<tracker::TrackerMessage>(
      text, [](std::string_view t) { return tracker::decode_tracker_message(t); });
  return 0;
}
