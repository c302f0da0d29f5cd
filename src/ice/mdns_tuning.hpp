#pragma once
// mDNS resolver timing and limits, each with the reason for its value. They are defaults of
// mdns::ResolverConfig; tests change them through the config, never by editing this file.

#include "core/time.hpp"

#include <cstddef>

namespace posthorn::ice::mdns {

struct Timing {
  /// RFC 6762 §5.2: the interval between the first two queries MUST be at least one second, and
  /// later intervals at least double. We use exactly that: queries at 0, 1, 3, 7 s, ...
  Duration first_retransmit = seconds(1);
  /// A name that has not answered by then fails. Responders answer queries for unique records
  /// (a browser's host names are unique) at once (RFC 6762 §6; Chromium answered in about 1 ms,
  /// measured in docs/mdns.md), so the answer's latency is the link's round trip. Five seconds
  /// sends three queries (0, 1, 3 s), survives two consecutive losses and leaves the third query
  /// two seconds. Waiting longer buys little: while a name is unresolved, ICE still learns the
  /// peer's address as a peer-reflexive candidate when the peer's checks reach us, and ICE's
  /// own 30 s connect timeout should not be eaten by name resolution.
  Duration timeout = seconds(5);
  /// Upper bound on a cached record's lifetime whatever TTL the responder claims. Browsers
  /// announce host names with TTL 120 s (RFC 6762 §10's recommendation for host records); an
  /// hour bounds how stale an entry from a misconfigured responder can get.
  Duration max_cache_ttl = seconds(3600);
  /// RFC 6762 §10.1: a TTL-0 "goodbye" record is deleted one second later, not at once.
  Duration goodbye_delay = seconds(1);
};

/// Outstanding resolve() calls. A session has a handful of mDNS candidates (one per host
/// interface and family of the peer); 64 covers a dozen concurrent sessions while bounding what
/// signalling-supplied candidates can make us send.
inline constexpr std::size_t kDefaultMaxQueries = 64;
/// Cached names. Browsers on a LAN announce every new host name unasked; caching them makes a
/// later resolve() of the same name instant, and the bound keeps a busy LAN from growing memory.
inline constexpr std::size_t kDefaultMaxCacheEntries = 256;

} // namespace posthorn::ice::mdns
