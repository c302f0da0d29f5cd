#include "dtls/certificate.hpp"

#include "core/log.hpp"
#include "dtls/context.hpp"
#include "dtls/errc.hpp"
#include "dtls/tuning.hpp"

#include <openssl/rand.h>

#include <array>
#include <ctime>

namespace posthorn::dtls {

struct Certificate::Impl {
  detail::EvpPkeyPtr key;
  detail::X509Ptr x509;
  Bytes der;
  std::string fingerprint_sha256;
  std::chrono::system_clock::time_point expires_at;
  detail::SslCtxPtr context;
};

namespace {

result<std::shared_ptr<const Certificate>> crypto_failure(const char* step) {
  POSTHORN_LOG(Warn, "dtls", "certificate generation failed at ", step, ": ",
               detail::take_openssl_errors());
  return error_code(Errc::CryptoFailure);
}

} // namespace

Certificate::Certificate(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Certificate::~Certificate() = default;

result<std::shared_ptr<const Certificate>> Certificate::generate() {
  auto impl = std::make_unique<Impl>();
  // RFC 8827 §6.5 / W3C webrtc-pc §4.9: ECDSA P-256 is what every browser accepts and generates.
  impl->key.reset(EVP_EC_gen("P-256"));
  if (!impl->key) return crypto_failure("EVP_EC_gen");

  impl->x509.reset(X509_new());
  X509* x = impl->x509.get();
  if (!x || X509_set_version(x, X509_VERSION_3) != 1) return crypto_failure("X509_new");

  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets. 63 random bits keep it positive
  // and make two certificates of one process distinguishable to stacks that cache by serial.
  std::array<unsigned char, 8> serial{};
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1)
    return crypto_failure("RAND_bytes");
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7F) | 0x40);
  detail::BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)))
    return crypto_failure("serial");

  // Validity comes from the wall clock: it is a property of the certificate, not protocol
  // timing, and peers compare it with their own wall clocks if they look at all.
  const auto now = std::chrono::system_clock::now();
  std::time_t now_t = std::chrono::system_clock::to_time_t(now);
  if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, -static_cast<long>(kCertificateBackdate.count()),
                        &now_t) ||
      !X509_time_adj_ex(X509_getm_notAfter(x), 0, static_cast<long>(kCertificateLifetime.count()),
                        &now_t))
    return crypto_failure("validity");
  impl->expires_at = std::chrono::system_clock::from_time_t(now_t) + kCertificateLifetime;

  X509_NAME* name = X509_get_subject_name(x);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("posthorn"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(x, name) != 1)
    return crypto_failure("name");
  if (X509_set_pubkey(x, impl->key.get()) != 1) return crypto_failure("X509_set_pubkey");
  if (X509_sign(x, impl->key.get(), EVP_sha256()) <= 0) return crypto_failure("X509_sign");

  const int der_len = i2d_X509(x, nullptr);
  if (der_len <= 0) return crypto_failure("i2d_X509");
  impl->der.resize(static_cast<std::size_t>(der_len));
  unsigned char* out = impl->der.data();
  if (i2d_X509(x, &out) != der_len) return crypto_failure("i2d_X509");
  impl->fingerprint_sha256 = compute_fingerprint(impl->der, FingerprintAlgorithm::Sha256);

  impl->context = detail::make_context(x, impl->key.get());
  if (!impl->context) return crypto_failure("SSL_CTX setup");

  POSTHORN_LOG(Debug, "dtls", "generated certificate sha-256 ", redact(impl->fingerprint_sha256));
  return std::shared_ptr<const Certificate>(new Certificate(std::move(impl)));
}

std::string Certificate::fingerprint_sha256() const {
  return impl_->fingerprint_sha256;
}

Fingerprint Certificate::fingerprint(FingerprintAlgorithm algorithm) const {
  if (algorithm == FingerprintAlgorithm::Sha256) return {algorithm, impl_->fingerprint_sha256};
  return {algorithm, compute_fingerprint(impl_->der, algorithm)};
}

ByteView Certificate::der() const noexcept {
  return impl_->der;
}

std::chrono::system_clock::time_point Certificate::expires_at() const noexcept {
  return impl_->expires_at;
}

SSL_CTX* detail::CertificateAccess::context(const Certificate& c) noexcept {
  return c.impl_->context.get();
}

} // namespace posthorn::dtls
