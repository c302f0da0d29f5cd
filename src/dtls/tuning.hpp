#pragma once
// DTLS constants. The timing ones are defaults of Endpoint::Config; tests shrink or stretch them
// through the config, never by editing this file.

#include "core/time.hpp"

#include <cstddef>

namespace posthorn::dtls {

/// Largest UDP payload we emit during the handshake. 1200 bytes fits IPv6's 1280-byte minimum
/// link MTU with room for a TURN ChannelData header and IP/UDP headers; it is the size Chrome,
/// Firefox and libdatachannel use, so a handshake never depends on IP fragmentation.
inline constexpr std::size_t kDefaultMtu = 1200;
/// OpenSSL refuses MTUs below its smallest probe (256 bytes); a certificate flight fragmented
/// finer than that would be silly anyway.
inline constexpr std::size_t kMinMtu = 256;
/// Largest UDP payload over IPv4.
inline constexpr std::size_t kMaxMtu = 65507;

/// RFC 6347 §4.3.1 / RFC 5246 §6.2.1: a record carries at most 2^14 bytes of plaintext. send()
/// enforces it because OpenSSL treats an over-long write as a fatal internal error.
inline constexpr std::size_t kMaxRecordPlaintext = 16384;

/// A whole authenticated connection (handshake plus fingerprint) must exist by then. 30 s
/// matches ICE's connect timeout, so both layers give up together.
inline constexpr Duration kDefaultHandshakeTimeout = seconds(30);

/// First retransmission timeout of a handshake flight. RFC 6347 §4.2.4.1 suggests 1 s for the
/// open Internet; WebRTC runs after ICE has already proven the path (loopback to intercontinental
/// is <= ~300 ms RTT), so a lost ClientHello costs 400 ms rather than a whole second. Callers with
/// an ICE RTT measurement may set Config::initial_retransmit_timeout to ~2×RTT.
inline constexpr Duration kDefaultInitialRetransmitTimeout = milliseconds(400);
/// Floor for the initial timeout: OpenSSL treats a timer with < 15 ms left as expired whenever a
/// read finds no data, so shorter values would make every incoming datagram retransmit a flight.
inline constexpr Duration kMinRetransmitTimeout = milliseconds(50);
/// Backoff cap, RFC 6347 §4.2.4.1 ("up to no less than the RFC 6298 maximum of 60 seconds").
/// With the default handshake timeout the cap is never reached; it bounds a long custom one.
inline constexpr Duration kMaxRetransmitTimeout = seconds(60);

/// Application data that arrives after the handshake but before the remote fingerprint is known
/// (trickle/signaling race) is held, unauthenticated, until it is checked. The peer's SCTP sends
/// an INIT and a few retransmissions meanwhile; 64 KiB holds that many times over and bounds what
/// an unauthenticated peer can make us store. Beyond it records are dropped (SCTP retransmits).
inline constexpr std::size_t kMaxPendingApplicationBytes = 64 * 1024;

/// Self-signed certificate validity window around the generation time. The start is backdated
/// to tolerate peers whose clocks run behind; 30 days is what browsers give their RTCCertificates.
/// WebRTC stacks check the fingerprint, not these dates (RFC 8827 §6.5), but a certificate that
/// is not yet valid is the kind of thing a stricter stack might reject.
inline constexpr seconds kCertificateBackdate = seconds(24 * 3600);
inline constexpr seconds kCertificateLifetime = seconds(30 * 24 * 3600);

} // namespace posthorn::dtls
