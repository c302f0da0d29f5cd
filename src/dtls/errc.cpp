#include "dtls/errc.hpp"

namespace posthorn::dtls {

const char* describe(Errc e) noexcept {
  switch (e) {
  case Errc::MalformedRecord: return "malformed DTLS record";
  case Errc::MalformedFingerprint: return "malformed certificate fingerprint";
  case Errc::UnsupportedHashFunction: return "unsupported fingerprint hash function";
  case Errc::CryptoFailure: return "certificate or key generation failed";
  case Errc::HandshakeFailed: return "DTLS handshake failed";
  case Errc::AlertReceived: return "DTLS peer sent a fatal alert";
  case Errc::CertificateRejected: return "DTLS peer rejected our certificate";
  case Errc::FingerprintMismatch: return "DTLS peer certificate does not match its fingerprint";
  case Errc::TimedOut: return "DTLS handshake timed out";
  case Errc::ProtocolError: return "DTLS protocol error";
  case Errc::NotConnected: return "DTLS endpoint is not connected";
  case Errc::Closed: return "DTLS connection closed";
  case Errc::MessageTooLarge: return "message exceeds the DTLS record size limit of 16384 bytes";
  case Errc::EmptyMessage: return "cannot send an empty DTLS record";
  case Errc::SrtpNotNegotiated: return "DTLS-SRTP was not negotiated";
  }
  return "unknown DTLS error";
}

Condition classify(Errc e) noexcept {
  switch (e) {
  case Errc::MalformedRecord:
  case Errc::HandshakeFailed:
  case Errc::AlertReceived:
  case Errc::ProtocolError: return Condition::ProtocolViolation;
  // The fingerprint is the trust anchor (RFC 8827 §6.5): a mismatch on either side is an
  // authentication failure, possibly a man in the middle.
  case Errc::FingerprintMismatch:
  case Errc::CertificateRejected: return Condition::AuthFailed;
  case Errc::TimedOut: return Condition::TimedOut;
  case Errc::Closed: return Condition::Closed;
  // Caller misuse or caller-supplied text.
  case Errc::MalformedFingerprint:
  case Errc::NotConnected:
  case Errc::MessageTooLarge:
  case Errc::EmptyMessage: return Condition::InvalidArgument;
  // A crypto provider without P-256/ECDSA (e.g. a restricted FIPS configuration) is the
  // realistic cause of CryptoFailure: the request is valid, this build cannot serve it.
  case Errc::UnsupportedHashFunction:
  case Errc::CryptoFailure:
  case Errc::SrtpNotNegotiated: return Condition::Unsupported;
  }
  return Condition::ProtocolViolation;
}

} // namespace posthorn::dtls
