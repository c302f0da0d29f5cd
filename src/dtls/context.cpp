#include "dtls/context.hpp"

namespace posthorn::dtls::detail {
namespace {

// What browsers negotiate: ECDHE key exchange with AEAD ciphers (RFC 8827 §6.5 allows only
// forward-secret suites and makes TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 mandatory). With our
// ECDSA certificate only the ECDSA suites can be chosen when we are the server; the RSA ones let
// us, as client, reach an older stack whose certificate is RSA (libwebrtc before M77, some embedded
// stacks). No CBC suites.
constexpr const char* kCipherList = "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                    "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                    "ECDHE-ECDSA-CHACHA20-POLY1305:"
                                    "ECDHE-RSA-AES128-GCM-SHA256:"
                                    "ECDHE-RSA-AES256-GCM-SHA384:"
                                    "ECDHE-RSA-CHACHA20-POLY1305";

// X25519 first (what Chrome and Firefox prefer), P-256 for everyone else.
constexpr const char* kGroups = "X25519:P-256";

} // namespace

SslCtxPtr make_context(X509* certificate, EVP_PKEY* key) {
  SslCtxPtr ctx(SSL_CTX_new(DTLS_method()));
  if (!ctx) return nullptr;
  // Browsers speak DTLS 1.2 (mandatory per RFC 8827 §6.5); OpenSSL 3.0 has no DTLS 1.3.
  if (SSL_CTX_set_min_proto_version(ctx.get(), DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), DTLS1_2_VERSION) != 1)
    return nullptr;
  // NO_QUERY_MTU: we set the MTU per connection; there is no socket to ask.
  // NO_TICKET / session cache off: every WebRTC connection does a full handshake (a resumed
  //   session would skip the certificate, hence the fingerprint check), and a shared context
  //   must not accumulate per-peer state.
  // NO_RENEGOTIATION: RFC 8827 §6.5 forbids DTLS renegotiation (it could swap the certificate
  //   after the fingerprint check).
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  // AUTO_RETRY: after a non-application record (a retransmitted Finished, a warning alert)
  // SSL_read keeps reading the rest of the datagram instead of returning WANT_READ, which would
  // strand records until the next datagram arrives. Default since 1.1.1; stated because we rely
  // on it.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_AUTO_RETRY);
  if (SSL_CTX_set_cipher_list(ctx.get(), kCipherList) != 1) return nullptr;
  if (SSL_CTX_set1_groups_list(ctx.get(), kGroups) != 1) return nullptr;
  if (SSL_CTX_use_certificate(ctx.get(), certificate) != 1) return nullptr;
  if (SSL_CTX_use_PrivateKey(ctx.get(), key) != 1) return nullptr;
  if (SSL_CTX_check_private_key(ctx.get()) != 1) return nullptr;
  return ctx;
}

} // namespace posthorn::dtls::detail
