#include "net/tls.hpp"

#include "net/errc.hpp"

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace posthorn::net::detail {

result<void> configure_client_context(boost::asio::ssl::context& context,
                                      const TlsOptions& options) {
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); the tls_client method negotiates 1.2 or 1.3.
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (!options.verify_peer) {
    context.set_verify_mode(boost::asio::ssl::verify_none, ec);
    if (ec) return ec;
    return {};
  }
  context.set_verify_mode(boost::asio::ssl::verify_peer, ec);
  if (ec) return ec;
  if (options.ca_file.empty()) {
    context.set_default_verify_paths(ec);
    if (ec) return ec;
  } else {
    context.load_verify_file(options.ca_file, ec);
    if (ec) return Errc::TlsSetupFailed; // unreadable or not PEM: the caller's configuration
  }
  return {};
}

result<void> prepare_client_session(ssl_st* ssl, const std::string& host,
                                    const TlsOptions& options) {
  const bool is_ip = host.find(':') != std::string::npos ||
                     host.find_first_not_of("0123456789.") == std::string::npos;
  if (!is_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return Errc::TlsSetupFailed;
  if (!options.verify_peer) return {};
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  // Wildcards only as a whole left-most label, never partial ones ("w*.example.com").
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  if (ok != 1) return Errc::TlsSetupFailed;
  return {};
}

} // namespace posthorn::net::detail
