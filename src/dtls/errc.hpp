#pragma once
// The DTLS layer's error codes (record headers, fingerprints, certificates, the endpoint). Each
// maps to a public posthorn::Condition so callers can classify failures without knowing the layer:
//
//   if (failed.error == posthorn::Condition::AuthFailed) report_possible_mitm();

#include "core/error.hpp"

namespace posthorn::dtls {

enum class Errc {
  MalformedRecord = 1,  // bytes that are not a sequence of DTLS records (RFC 6347 §4.1)
  MalformedFingerprint, // SDP fingerprint text that is not "<hash-func> XX:XX:..." (RFC 8122 §5)
  UnsupportedHashFunction, // a fingerprint hash we do not implement (md5, md2, unknown tokens)
  CryptoFailure,           // OpenSSL refused to generate or encode a key or certificate
  HandshakeFailed,         // the handshake failed locally (bad message, no common cipher, ...)
  AlertReceived,           // the peer sent a fatal alert
  CertificateRejected,     // the peer sent a certificate-class fatal alert: it rejected ours
  FingerprintMismatch,     // the peer certificate does not match the signalled fingerprint
  TimedOut,                // no authenticated connection within the handshake timeout
  ProtocolError,           // a fatal DTLS error after the handshake
  NotConnected,            // send/export before Connected
  Closed,                  // send after close() or after the peer's close_notify
  MessageTooLarge,         // send of more than one record's plaintext (2^14 bytes)
  EmptyMessage,            // send of zero bytes (OpenSSL cannot write an empty record)
  SrtpNotNegotiated,       // export_srtp_keying_material() without a use_srtp agreement
};

const char* describe(Errc e) noexcept;
posthorn::Condition classify(Errc e) noexcept;

inline error_code make_error_code(Errc e) noexcept {
  return posthorn::detail::make_layer_error(e, "posthorn.dtls");
}

} // namespace posthorn::dtls

template <> struct boost::system::is_error_code_enum<posthorn::dtls::Errc> : std::true_type {};
