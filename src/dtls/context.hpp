#pragma once
// Internal: the OpenSSL context behind a Certificate, and Endpoint's access to it.

#include "dtls/certificate.hpp"
#include "dtls/openssl_util.hpp"

namespace posthorn::dtls::detail {

/// A DTLS 1.2 context configured for WebRTC with this key and certificate. Everything
/// per-connection (MTU, callbacks, use_srtp) is set on the SSL instead, so one context serves
/// every connection of a certificate. nullptr (errors in the OpenSSL queue) on failure.
SslCtxPtr make_context(X509* certificate, EVP_PKEY* key);

struct CertificateAccess {
  /// The shared context; SSL_new takes its own reference.
  static SSL_CTX* context(const Certificate& c) noexcept;
};

} // namespace posthorn::dtls::detail
