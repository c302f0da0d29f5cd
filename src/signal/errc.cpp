#include "signal/errc.hpp"

namespace posthorn::signal {

const char* describe(Errc e) noexcept {
  switch (e) {
  case Errc::MessageTooLarge: return "signal message is larger than the accepted maximum";
  case Errc::MalformedJson: return "signal message is not JSON";
  case Errc::NotAnObject: return "signal message is not a JSON object";
  case Errc::InvalidSignalField:
    return "signal message has an offer, answer or candidate that is not a non-empty string";
  case Errc::MissingPeerId: return "signal message has no non-empty string peerId";
  case Errc::MalformedCiphertext: return "encrypted signal is not \"iv bytes$base64\"";
  case Errc::DecryptFailed: return "encrypted signal does not authenticate (wrong room password?)";
  case Errc::MalformedCandidate: return "ICE candidate JSON is malformed";
  }
  return "unknown signal error";
}

Condition classify(Errc e) noexcept {
  switch (e) {
  case Errc::DecryptFailed: return Condition::AuthFailed;
  case Errc::MessageTooLarge:
  case Errc::MalformedJson:
  case Errc::NotAnObject:
  case Errc::InvalidSignalField:
  case Errc::MissingPeerId:
  case Errc::MalformedCiphertext:
  case Errc::MalformedCandidate: return Condition::ProtocolViolation;
  }
  return Condition::ProtocolViolation;
}

} // namespace posthorn::signal
