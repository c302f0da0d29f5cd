#pragma once
// The ICE layer's error codes (STUN codec, candidates, the agent). Each maps to a public
// posthorn::Condition so callers can classify failures without knowing the layer:
//
//   if (ec == posthorn::Condition::ProtocolViolation) drop_and_count();

#include "core/error.hpp"

namespace posthorn::ice {

enum class Errc {
  MalformedCandidate = 1, // candidate text that does not follow RFC 8839 §5.1
  MalformedStun,          // bytes that are not a well-formed STUN message (RFC 8489 §5)
  BadMessageIntegrity,    // MESSAGE-INTEGRITY(-SHA256) did not verify (RFC 8489 §14.5)
  BadFingerprint,         // FINGERPRINT CRC-32 mismatch (RFC 8489 §14.7)
  UnknownAttribute,       // a comprehension-required attribute we do not know (RFC 8489 §14)
  TimedOut,               // a STUN transaction ran out of retransmissions
  ConsentLost,            // consent freshness expired (RFC 7675 §5.1)
  Failed,                 // every candidate pair failed (RFC 8445 §8.1.2)
};

const char* describe(Errc e) noexcept;
posthorn::Condition classify(Errc e) noexcept;

inline error_code make_error_code(Errc e) noexcept {
  return detail::make_layer_error(e, "posthorn.ice");
}

} // namespace posthorn::ice

template <> struct boost::system::is_error_code_enum<posthorn::ice::Errc> : std::true_type {};
