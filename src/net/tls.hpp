#pragma once
// TLS client settings shared by the WebSocket (wss://) and byte-stream (mqtts://, tls://)
// transports. The Asio/OpenSSL types stay out of this header: the helpers take forward-declared
// types and are used only inside the transports' .cpp files.

#include "core/error.hpp"

#include <string>

struct ssl_st; // OpenSSL's SSL

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace posthorn::net {

struct TlsOptions {
  /// Verify the server's certificate chain and that it names the host we dialled. Turn off only
  /// in tests against a throwaway certificate.
  bool verify_peer = true;
  /// PEM file of CAs to trust instead of the system store (a private broker, tests).
  std::string ca_file;
};

namespace detail {

/// TLS 1.2 or later; the system CA store (or `ca_file`) when verifying.
[[nodiscard]] result<void> configure_client_context(boost::asio::ssl::context& context,
                                                    const TlsOptions& options);
/// Per connection: SNI for DNS names (RFC 6066 §3 forbids IP literals there) and the name or
/// address the certificate must match (RFC 6125) when verifying.
[[nodiscard]] result<void> prepare_client_session(ssl_st* ssl, const std::string& host,
                                                  const TlsOptions& options);

} // namespace detail
} // namespace posthorn::net
