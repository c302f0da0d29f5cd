#pragma once
// Internal: OpenSSL ownership helpers for the dtls layer. Never included by a public header.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace posthorn::dtls::detail {

/// A stateless deleter for C resources (STYLE.md "Ownership").
template <auto Free> struct CDeleter {
  template <class T> void operator()(T* p) const noexcept { Free(p); }
};

using SslCtxPtr = std::unique_ptr<SSL_CTX, CDeleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, CDeleter<SSL_free>>;
using X509Ptr = std::unique_ptr<X509, CDeleter<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, CDeleter<EVP_PKEY_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, CDeleter<BN_free>>;

/// Drains this thread's OpenSSL error queue into one line ("" if empty), for logs.
std::string take_openssl_errors();

} // namespace posthorn::dtls::detail
