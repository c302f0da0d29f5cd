#pragma once
// Errors of the client transports (pattern: src/core/error.hpp). Failures the operating system or
// OpenSSL report (connection refused, host not found, certificate verify failed, end of file) are
// passed through with their own codes and messages, which say exactly what happened; these are
// the conditions only this layer can name.
//
//   auto r = co_await ws.connect(url);
//   if (!r && r.error() == posthorn::Condition::TimedOut) retry_later();

#include "core/error.hpp"

namespace posthorn::net {

enum class Errc {
  InvalidUrl = 1,      // not scheme://[user[:pass]@]host[:port][/path]
  UnsupportedScheme,   // not ws, wss, mqtt, mqtts, tcp or tls
  ConnectTimeout,      // resolve + TCP + TLS + upgrade did not finish in time
  UpgradeRejected,     // the HTTP server answered the WebSocket upgrade without 101
  SubprotocolMismatch, // the server picked a WebSocket subprotocol we did not offer
  TlsSetupFailed,      // the CA file could not be loaded, or SNI/host checks not set up
  MessageTooLarge,     // an incoming WebSocket message exceeded max_message_size
  ClosedByPeer,        // the server closed the WebSocket (close frame) or the stream (EOF)
  Closed,              // close() was called on our side
  NotConnected,        // read() before connect() succeeded
  AlreadyConnected,    // connect() called twice: make a new client per connection
  ReadInProgress,      // a second read() while one is pending
  TextOnByteStream,    // a text WebSocket message where only binary ones may carry the stream
};

const char* describe(Errc e) noexcept;
Condition classify(Errc e) noexcept;
inline error_code make_error_code(Errc e) noexcept {
  return posthorn::detail::make_layer_error(e, "posthorn.net");
}

} // namespace posthorn::net

template <> struct boost::system::is_error_code_enum<posthorn::net::Errc> : std::true_type {};
