#pragma once
// Error codes of the TURN client (RFC 8656). They live beside ice::Errc rather than inside it so
// the TURN client owns its failure vocabulary; each maps to a public posthorn::Condition:
//
//   if (failed.error == posthorn::Condition::AuthFailed) ask_user_for_new_turn_credentials();

#include "core/error.hpp"

#include <cstdint>

namespace posthorn::ice {

enum class TurnErrc {
  Unauthorized = 1,     // 401 after credentials were sent: wrong username, password or realm
  Forbidden,            // 403: the server refuses this user or this peer
  StaleNonceLoop,       // the server kept answering 438 Stale Nonce (RFC 8489 §9.2.5)
  AllocationMismatch,   // 437: no allocation for this 5-tuple (expired or never made)
  QuotaReached,         // 486 Allocation Quota Reached / 508 Insufficient Capacity
  UnsupportedByServer,  // 300 (redirect, not followed), 420, 440, 442, or another refusal
  IntegrityViolated,    // responses came back but none carried a valid MESSAGE-INTEGRITY
  ServerError,          // any other error response (5xx, unexpected 4xx)
  MalformedResponse,    // a response lacking what RFC 8656 requires (e.g. XOR-RELAYED-ADDRESS)
  MalformedChannelData, // ChannelData framing violates RFC 8656 §12.4
  StreamDesynchronized, // TCP bytes that are neither STUN nor ChannelData (RFC 8656 §12.5)
  TimedOut,             // a transaction ran out of retransmissions (RFC 8489 §6.2.1)
  ConnectionClosed,     // the TCP connection to the server ended under the allocation
  NotAllocated,         // send_to/add_permission before the Allocated event
  Closed,               // the client was closed or its allocation failed
  PeerFamilyMismatch,   // the peer's address family differs from the relayed address's
  PayloadTooLarge,      // the datagram does not fit in a Send indication or ChannelData
  PermissionLimit,      // the bounded permission table is full (TurnLimits::max_permissions)
  PendingQueueFull,     // too much data queued for a peer whose permission is being installed
  PermissionDenied,     // the server refused a permission for this peer recently
};

const char* describe(TurnErrc e) noexcept;
posthorn::Condition classify(TurnErrc e) noexcept;

inline error_code make_error_code(TurnErrc e) noexcept {
  return detail::make_layer_error(e, "posthorn.ice.turn");
}

/// The TurnErrc an error response code maps to (RFC 8656 §19, RFC 8489 §14.8).
TurnErrc turn_errc_from_stun_code(std::uint16_t code) noexcept;

} // namespace posthorn::ice

template <> struct boost::system::is_error_code_enum<posthorn::ice::TurnErrc> : std::true_type {};
