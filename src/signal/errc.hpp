#pragma once
// Errors of the signaling layer (pattern: src/core/error.hpp). Everything here is remote input
// from a relay: a malformed message or ciphertext is a ProtocolViolation, a ciphertext that does
// not authenticate (a wrong room password, spec/trystero-wire.md §3) is AuthFailed. The
// coordinator never surfaces these to the application: it counts and drops, as JS does.

#include "core/error.hpp"

namespace posthorn::signal {

enum class Errc {
  // Signal messages (§4.1 "Receive validation").
  MessageTooLarge = 1, // larger than kMaxSignalMessageBytes
  MalformedJson,       // not JSON text
  NotAnObject,         // JSON, but not an object
  InvalidSignalField,  // offer/answer/candidate present but not a non-empty string
  MissingPeerId,       // peerId absent, empty or not a string
  // Encrypted payloads (§3).
  MalformedCiphertext, // not "d,d,…$base64", an IV byte out of range, bad base64, no tag
  DecryptFailed,       // the GCM tag does not verify: wrong password or tampering
  // Candidate JSON (§6.3).
  MalformedCandidate, // not an object, or a field of the wrong type
};

const char* describe(Errc e) noexcept;
Condition classify(Errc e) noexcept;
inline error_code make_error_code(Errc e) noexcept {
  return posthorn::detail::make_layer_error(e, "posthorn.signal");
}

} // namespace posthorn::signal

template <> struct boost::system::is_error_code_enum<posthorn::signal::Errc> : std::true_type {};
