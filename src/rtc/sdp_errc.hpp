#pragma once
// The rtc layer's error codes: the SDP codec's and PeerConnection's. One Errc per layer
// (STYLE.md "Errors"); the file keeps the sdp_ prefix for historical reasons only.

#include "core/error.hpp"

namespace posthorn::rtc {

enum class Errc {
  MalformedSdp = 1,     // no "v=0" first, or an m= line without kind, port and protocol
  SdpTooLarge,          // the text is longer than kMaxSdpSize
  TooManyMediaSections, // more than kMaxMediaSections m= lines
  TooManyCandidates,    // more than kMaxCandidatesPerSection a=candidate lines in one section
  // PeerConnection (JSEP) errors:
  InvalidState,         // a call not allowed in the current signaling state (W3C InvalidStateError)
  NoDataChannelSection, // the description has no usable UDP/DTLS/SCTP section
  MissingIceCredentials, // no a=ice-ufrag / a=ice-pwd for the data section
  MissingFingerprint,    // no a=fingerprint (RFC 8842 §5.1 requires one)
  FingerprintChanged,    // a renegotiation changed the peer's DTLS identity
  UnknownChannel,        // no data channel with that id
  ChannelNotOpen,        // the channel is not open (yet, or any more)
  MessageTooLarge,       // larger than the peer's a=max-message-size
};

const char* describe(Errc e) noexcept;
posthorn::Condition classify(Errc e) noexcept;

inline error_code make_error_code(Errc e) noexcept {
  return detail::make_layer_error(e, "posthorn.rtc");
}

} // namespace posthorn::rtc

template <> struct boost::system::is_error_code_enum<posthorn::rtc::Errc> : std::true_type {};
