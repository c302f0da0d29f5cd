#pragma once
// TURN client timing and limits. Each value is a default of TurnServerConfig, with the reason it
// has the value it has. Tests shrink or stretch them through the config, never by editing this
// file.

#include "core/time.hpp"

#include <cstddef>

namespace posthorn::ice {

struct TurnTiming {
  /// RFC 8489 §6.2.1: initial RTO for requests over UDP. 500 ms is the RFC's recommendation for
  /// fixed-line paths; a TURN server is usually farther away than an ICE peer on the LAN, so the
  /// ICE check RTO (250 ms) would only add spurious retransmissions.
  Duration rto = milliseconds(500);
  /// RFC 8489 §6.2.1 Rc: transmissions before giving up. With rto 500 ms they go out at 0, 0.5,
  /// 1.5, 3.5, 7.5, 15.5 and 31.5 s.
  int max_transmissions = 7;
  /// RFC 8489 §6.2.1 Rm: after the last transmission wait Rm*RTO (8 s) → 39.5 s in all, the
  /// same as the TCP transaction timeout Ti (§6.2.2).
  int last_wait_multiplier = 16;
  /// RFC 8489 §6.2.2: over TCP there are no retransmissions, only this overall deadline.
  Duration tcp_transaction_timeout = milliseconds(39500);
  /// RFC 8656 §8: "the client SHOULD refresh an allocation ... 1 minute before it expires".
  /// Permissions (300 s, §9) and channels (600 s, §12) are refreshed with the same margin.
  Duration refresh_margin = seconds(60);
  /// RFC 8656 §9: a permission lasts exactly 300 s unless refreshed.
  Duration permission_lifetime = seconds(300);
  /// RFC 8656 §12: a channel binding lasts 600 s unless refreshed.
  Duration channel_lifetime = seconds(600);
  /// A permission the server refused (403 for a forbidden peer) is not asked for again before
  /// this, so that an application sending to that peer does not turn every send into a request.
  Duration permission_retry_backoff = seconds(30);
};

struct TurnLimits {
  /// Peers (IP addresses) with a permission. An ICE session relays to a handful of remote
  /// candidates; the cap bounds memory and server load if the remote offers thousands.
  std::size_t max_permissions = 64;
  /// Channel bindings (RFC 8656 §12: numbers 0x4000-0x4FFF, 4096 in all; a number is never
  /// reused for another peer, so at most 4096 bindings are ever made by one client).
  std::size_t max_channels = 64;
  /// Datagrams queued per peer while its permission is being installed (one round trip).
  std::size_t max_pending_per_peer = 32;
  /// RFC 8489 §9.2.5: a 438 Stale Nonce is retried with the new nonce; a server that answers
  /// 438 again and again is broken, so a request gives up after this many.
  int max_stale_nonce_retries = 3;
};

} // namespace posthorn::ice
