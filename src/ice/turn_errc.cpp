#include "ice/turn_errc.hpp"

namespace posthorn::ice {

const char* describe(TurnErrc e) noexcept {
  switch (e) {
  case TurnErrc::Unauthorized: return "TURN server rejected the credentials";
  case TurnErrc::Forbidden: return "TURN server forbids this request";
  case TurnErrc::StaleNonceLoop: return "TURN server kept reporting a stale nonce";
  case TurnErrc::AllocationMismatch: return "TURN allocation does not exist on the server";
  case TurnErrc::QuotaReached: return "TURN server is out of allocations";
  case TurnErrc::UnsupportedByServer: return "TURN server does not support the request";
  case TurnErrc::IntegrityViolated: return "TURN responses failed the integrity check";
  case TurnErrc::ServerError: return "TURN server error";
  case TurnErrc::MalformedResponse: return "malformed TURN response";
  case TurnErrc::MalformedChannelData: return "malformed TURN ChannelData message";
  case TurnErrc::StreamDesynchronized: return "TURN stream is neither STUN nor ChannelData";
  case TurnErrc::TimedOut: return "TURN transaction timed out";
  case TurnErrc::ConnectionClosed: return "TURN connection closed";
  case TurnErrc::NotAllocated: return "TURN allocation not established yet";
  case TurnErrc::Closed: return "TURN client closed";
  case TurnErrc::PeerFamilyMismatch: return "peer address family differs from the relayed address";
  case TurnErrc::PayloadTooLarge: return "datagram too large for TURN";
  case TurnErrc::PermissionLimit: return "too many TURN permissions";
  case TurnErrc::PendingQueueFull: return "too much data waiting for a TURN permission";
  case TurnErrc::PermissionDenied: return "TURN server refused a permission for this peer";
  }
  return "unknown TURN error";
}

Condition classify(TurnErrc e) noexcept {
  switch (e) {
  case TurnErrc::Unauthorized:
  case TurnErrc::Forbidden:
  case TurnErrc::IntegrityViolated:
  case TurnErrc::PermissionDenied: return Condition::AuthFailed;
  case TurnErrc::StaleNonceLoop:
  case TurnErrc::MalformedResponse:
  case TurnErrc::MalformedChannelData:
  case TurnErrc::StreamDesynchronized:
  case TurnErrc::ServerError: return Condition::ProtocolViolation;
  case TurnErrc::UnsupportedByServer: return Condition::Unsupported;
  case TurnErrc::TimedOut: return Condition::TimedOut;
  case TurnErrc::AllocationMismatch:
  case TurnErrc::ConnectionClosed:
  case TurnErrc::Closed: return Condition::Closed;
  // Capacity and queue limits are transient: the caller may try again later.
  case TurnErrc::QuotaReached:
  case TurnErrc::PermissionLimit:
  case TurnErrc::PendingQueueFull: return Condition::Blocked;
  case TurnErrc::NotAllocated:
  case TurnErrc::PeerFamilyMismatch:
  case TurnErrc::PayloadTooLarge: return Condition::InvalidArgument;
  }
  return Condition::ProtocolViolation;
}

TurnErrc turn_errc_from_stun_code(std::uint16_t code) noexcept {
  switch (code) {
  case 401: return TurnErrc::Unauthorized;
  case 403: return TurnErrc::Forbidden;
  case 437: return TurnErrc::AllocationMismatch;
  case 438: return TurnErrc::StaleNonceLoop;
  case 486:
  case 508: return TurnErrc::QuotaReached;
  case 300:
  case 420:
  case 440: // Address Family not Supported (RFC 8656 §19)
  case 442: // Unsupported Transport Protocol
  case 443: // Peer Address Family Mismatch
    return TurnErrc::UnsupportedByServer;
  default: return TurnErrc::ServerError;
  }
}

} // namespace posthorn::ice
