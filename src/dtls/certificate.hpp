#pragma once
// The local DTLS identity: an ECDSA P-256 key and a self-signed X.509 certificate.
//
// WebRTC authenticates peers by certificate fingerprint, not by a CA (RFC 8827 §6.5), so one
// certificate is generated at startup and shared by every connection of the process, as a
// browser shares one RTCCertificate across RTCPeerConnections. Generation costs a key pair and a
// signature (~1 ms); sharing also shares the prepared OpenSSL context, so a new connection does
// not pay for SSL_CTX setup. Privacy: RFC 8827 §6.5 wants browsers to use a fresh key pair per
// session so sessions are unlinkable; a shared certificate lets peers of different rooms see they
// met the same process. Generate one per room where that matters.
//
// Thread safety: a Certificate is immutable after generate(); share it across threads freely.

#include "core/bytes.hpp"
#include "dtls/fingerprint.hpp"
#include <posthorn/error.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace posthorn::dtls {

namespace detail {
struct CertificateAccess; // OpenSSL handles for Endpoint (dtls/context.hpp)
}

class Certificate {
public:
  /// A fresh P-256 key and a certificate with CN "posthorn", a random 63-bit serial and a
  /// validity of [now - 1 day, now + 30 days] (system clock). CryptoFailure if OpenSSL refuses.
  static result<std::shared_ptr<const Certificate>> generate();

  ~Certificate();
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  /// "AB:CD:...:EF" (32 uppercase hex pairs, 95 characters): the value of
  /// "a=fingerprint:sha-256 <value>" in our SDP.
  [[nodiscard]] std::string fingerprint_sha256() const;
  /// The fingerprint with any supported hash, e.g. {Sha256, "AB:CD:..."}.
  [[nodiscard]] Fingerprint fingerprint(FingerprintAlgorithm algorithm) const;
  /// DER encoding of the certificate (what fingerprints hash).
  [[nodiscard]] ByteView der() const noexcept;
  /// End of the validity period. Peers do not check it, but a process that runs for weeks may
  /// want to rotate its certificate for new connections around this time.
  [[nodiscard]] std::chrono::system_clock::time_point expires_at() const noexcept;

private:
  struct Impl;
  explicit Certificate(std::unique_ptr<Impl> impl) noexcept;
  friend struct detail::CertificateAccess;
  std::unique_ptr<Impl> impl_;
};

} // namespace posthorn::dtls
