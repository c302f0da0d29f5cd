#include "rtc/sdp_errc.hpp"

namespace posthorn::rtc {

const char* describe(Errc e) noexcept {
  switch (e) {
  case Errc::MalformedSdp: return "malformed session description";
  case Errc::SdpTooLarge: return "session description too large";
  case Errc::TooManyMediaSections: return "too many media sections in session description";
  case Errc::TooManyCandidates: return "too many candidates in one media section";
  case Errc::InvalidState: return "not allowed in the current signaling state";
  case Errc::NoDataChannelSection: return "no data channel (UDP/DTLS/SCTP) section";
  case Errc::MissingIceCredentials: return "missing ICE ufrag or password";
  case Errc::MissingFingerprint: return "missing DTLS fingerprint";
  case Errc::FingerprintChanged: return "the peer's DTLS fingerprint changed";
  case Errc::UnknownChannel: return "unknown data channel";
  case Errc::ChannelNotOpen: return "data channel is not open";
  case Errc::MessageTooLarge: return "message larger than the peer's max-message-size";
  }
  return "unknown rtc error";
}

Condition classify(Errc e) noexcept {
  switch (e) {
  case Errc::InvalidState:
  case Errc::UnknownChannel:
  case Errc::MessageTooLarge: return Condition::InvalidArgument;
  case Errc::ChannelNotOpen: return Condition::Closed;
  case Errc::FingerprintChanged: return Condition::AuthFailed;
  default:
    // Every SDP failure is the remote (or the signaling path) sending something we refuse.
    return Condition::ProtocolViolation;
  }
}

} // namespace posthorn::rtc
