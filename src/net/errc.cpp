#include "net/errc.hpp"

namespace posthorn::net {

const char* describe(Errc e) noexcept {
  switch (e) {
  case Errc::InvalidUrl: return "invalid URL (expected scheme://[user[:pass]@]host[:port][/path])";
  case Errc::UnsupportedScheme:
    return "unsupported URL scheme (use ws, wss, mqtt, mqtts, tcp or tls)";
  case Errc::ConnectTimeout: return "connection timed out";
  case Errc::UpgradeRejected: return "server rejected the WebSocket upgrade";
  case Errc::SubprotocolMismatch: return "server chose a WebSocket subprotocol we did not offer";
  case Errc::TlsSetupFailed: return "TLS setup failed (CA file or host name)";
  case Errc::MessageTooLarge: return "incoming message exceeds the maximum message size";
  case Errc::ClosedByPeer: return "connection closed by the server";
  case Errc::Closed: return "connection closed locally";
  case Errc::NotConnected: return "not connected";
  case Errc::AlreadyConnected: return "connect() was already called on this client";
  case Errc::ReadInProgress: return "another read is already pending";
  case Errc::TextOnByteStream: return "text WebSocket message on a binary byte stream";
  }
  return "unknown net error";
}

Condition classify(Errc e) noexcept {
  switch (e) {
  case Errc::InvalidUrl:
  case Errc::UnsupportedScheme:
  case Errc::TlsSetupFailed:
  case Errc::AlreadyConnected:
  case Errc::ReadInProgress: return Condition::InvalidArgument;
  case Errc::ConnectTimeout: return Condition::TimedOut;
  case Errc::UpgradeRejected:
  case Errc::SubprotocolMismatch:
  case Errc::MessageTooLarge:
  case Errc::TextOnByteStream: return Condition::ProtocolViolation;
  case Errc::ClosedByPeer:
  case Errc::Closed:
  case Errc::NotConnected: return Condition::Closed;
  }
  return Condition::Closed;
}

} // namespace posthorn::net
