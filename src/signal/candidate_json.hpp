#pragma once
// The ICE candidate object Trystero encrypts into candidate messages (spec/trystero-wire.md §6.3):
// RTCIceCandidate.toJSON() on the sending side, RTCIceCandidateInit on ours.
//
// Browsers send {"candidate":"candidate:…","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"…"};
// JS peers on node-datachannel send "a=candidate:…" with null fields. We accept both and always
// write the browser form.

#include "core/error.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace posthorn::signal {

struct CandidateInit {
  /// The candidate attribute value without an "a=" prefix ("candidate:1 1 udp …"). Empty is the
  /// end-of-candidates marker some browsers send (§6.3); the ICE agent decides what to do with it.
  std::string candidate;
  std::optional<std::string> sdp_mid;
  std::optional<int> sdp_mline_index; ///< 0..65535 (WebIDL unsigned short)
  std::optional<std::string> username_fragment;

  friend bool operator==(const CandidateInit&, const CandidateInit&) = default;
};

/// Parses the plaintext of a candidate message. Each field may be missing or null; "a=" is
/// stripped from the candidate. A field of the wrong type (or an sdpMLineIndex that is not an
/// integer in 0..65535) is Errc::MalformedCandidate.
[[nodiscard]] result<CandidateInit> parse_candidate_json(std::string_view json);

/// {"candidate":…,"sdpMid":…,"sdpMLineIndex":…,"usernameFragment":…} in that order, absent fields
/// as null: the browser's toJSON() form that every Trystero version accepts.
std::string to_json(const CandidateInit& candidate);

} // namespace posthorn::signal
