#include "ice/errc.hpp"

namespace posthorn::ice {

const char* describe(Errc e) noexcept {
  switch (e) {
  case Errc::MalformedCandidate: return "malformed ICE candidate";
  case Errc::MalformedStun: return "malformed STUN message";
  case Errc::BadMessageIntegrity: return "STUN message integrity check failed";
  case Errc::BadFingerprint: return "STUN fingerprint mismatch";
  case Errc::UnknownAttribute: return "unknown comprehension-required STUN attribute";
  case Errc::TimedOut: return "STUN transaction timed out";
  case Errc::ConsentLost: return "ICE consent lost";
  case Errc::Failed: return "ICE failed";
  }
  return "unknown ICE error";
}

Condition classify(Errc e) noexcept {
  switch (e) {
  case Errc::MalformedCandidate:
  case Errc::MalformedStun:
  case Errc::BadFingerprint: return Condition::ProtocolViolation;
  case Errc::BadMessageIntegrity: return Condition::AuthFailed;
  // RFC 8489 §6.3.1.1: answered with 420 (Unknown Attribute): valid, just not implemented.
  case Errc::UnknownAttribute: return Condition::Unsupported;
  // Consent expiry and ICE failure both mean "no answer came back in time" to a caller; they
  // retry or give up exactly as for a timeout.
  case Errc::TimedOut:
  case Errc::ConsentLost:
  case Errc::Failed: return Condition::TimedOut;
  }
  return Condition::ProtocolViolation;
}

} // namespace posthorn::ice
