#pragma once
// Every tuned constant of the sctp layer, with why it has its value (STYLE.md "Tuned constants live
// in one header per layer"). usrsctp's defaults are FreeBSD kernel defaults for general-purpose
// SCTP over IP; WebRTC runs one association per peer connection over DTLS/UDP with a fixed MTU,
// no multi-homing and no ECN, which moves several of them.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace posthorn::sctp::tuning {

using std::chrono::milliseconds;

// --- Packet size -------------------------------------------------------------------------------

/// Largest SCTP packet we hand to DTLS. 1280 (the IPv6 minimum MTU, safe on every path) minus
/// IPv6 (40) + UDP (8) + TURN ChannelData (4) + DTLS 1.2 AES-GCM record overhead (13 header + 8
/// explicit nonce + 16 tag) = 1191, the value Chrome uses (kSctpMtu). RFC 8261 §5 recommends a safe
/// value not above 1200 when DTLS cannot set DF; we never probe (PMTUD off): DTLS hides ICMP.
inline constexpr std::size_t kMaxPacketSize = 1191;
/// usrsctp's spp_pathmtu for AF_CONN excludes the 12-byte SCTP common header (it adds it back:
/// sctp_usrreq.c, SCTP_PEER_ADDR_PARAMS), so this yields packets of at most kMaxPacketSize.
inline constexpr std::uint32_t kPathMtu = kMaxPacketSize - 12;

// --- Streams -----------------------------------------------------------------------------------

/// Streams offered in INIT, each way. RFC 8831 §6.2 says SHOULD 65535, but usrsctp allocates a
/// per-stream state array (~100 B per stream per direction) when the association starts, for every
/// association; 1024 channels per peer connection is far beyond any real application
/// (libdatachannel makes the same trade). The negotiated count is min(ours, theirs).
inline constexpr std::uint16_t kMaxStreams = 1024;

// --- Buffers -----------------------------------------------------------------------------------

/// SO_SNDBUF: bytes usrsctp accepts before sendv returns EWOULDBLOCK (queued + in flight). It must
/// exceed the congestion window to keep the path full; 4 MiB covers ~80 MB/s at 50 ms RTT. It is
/// a limit, not an allocation: idle associations cost nothing. Bytes in it are NOT part of
/// bufferedAmount (see docs/sctp.md): like a kernel socket buffer, it is "handed to the network".
inline constexpr int kSendBufferSize = 4 * 1024 * 1024;
/// SO_RCVBUF: sets the advertised receiver window (a_rwnd in INIT). usrsctp's 256 KiB default caps
/// throughput at 256 KiB per RTT (Mozilla bug 1051685); 4 MiB matches the send side. We read
/// everything out of usrsctp after each input, so the window is only full while a message is being
/// reassembled or the peer outruns our CPU.
inline constexpr int kReceiveBufferSize = 4 * 1024 * 1024;
/// usrsctp refuses to queue more than this many chunks (send side: EWOULDBLOCK; receive side: drops
/// DATA). The default 512 chunks is ~600 KB at our MTU, below both buffers above; 4 MiB / ~1150 B
/// per chunk ~ 3700 chunks each way, so 16384 leaves room for small messages (one chunk each).
inline constexpr std::uint32_t kMaxChunksOnQueue = 16384;

// --- Congestion control and timers
// ----------------------------------------------------------------

/// Initial congestion window in MTUs: RFC 6928's 10 (TCP's IW10), instead of usrsctp's RFC 4960
/// value (~4 KB), so a connection's first round trip can carry ~11 KB.
inline constexpr std::uint32_t kInitialCwndMtus = 10;
/// Packets sent back-to-back in one output pass. usrsctp's default of 4 (with cwnd-based max
/// burst) throttles cwnd growth after each SACK of a bulk transfer; 10 matches the initial window.
inline constexpr std::uint32_t kMaxBurst = 10;
/// Delayed-SACK timer. RFC 4960's 200 ms stalls a sender whose window holds an odd number of
/// packets for 200 ms; 20 ms is what libdatachannel uses, two ticks of our timer grid.
inline constexpr milliseconds kDelayedSackTime{20};
/// RTO bounds. RFC 4960 says min 1 s; Linux TCP and libdatachannel use 200 ms, which is safe here
/// because usrsctp measures RTT with the wall clock and DTLS adds no queuing of its own.
inline constexpr milliseconds kRtoMin{200};
/// Initial RTO (before any RTT sample, e.g. INIT): RFC 6298's 1 s rather than RFC 4960's 3 s.
inline constexpr milliseconds kRtoInitial{1000};
/// Cap on exponential backoff: 10 s instead of 60 s, so a dead path is detected in about a minute
/// (ICE consent freshness, RFC 7675, normally notices first and tears everything down).
inline constexpr milliseconds kRtoMax{10000};

/// Resolution of our timer grid (poll_timeout() = last advance + kTimerTick). usrsctp 0.9.5 has no
/// "next deadline" API, and its own timer thread ticks every 10 ms (TIMEOUT_INTERVAL in
/// sctp_callout.c), so every usrsctp deployment already rounds its timers to 10 ms; our shortest
/// timer (delayed SACK) is 2 ticks. All associations share one grid, so a driver with many
/// associations wakes once per tick, and the first association to wake advances usrsctp's global
/// timer wheel for all of them.
inline constexpr milliseconds kTimerTick{10};
/// An established association with nothing in flight, nothing queued and no packet for this long
/// is idle: its only usrsctp timer is the HEARTBEAT (30 s), so poll_timeout() asks to be woken
/// once per kIdlePoll instead of every tick. 200 ms is well past the delayed-SACK timer.
inline constexpr milliseconds kIdleAfter{200};
/// Wake-up period of an idle association; a heartbeat may go out up to this much late, which
/// RFC 9260 §8.3's jittered interval tolerates.
inline constexpr milliseconds kIdlePoll{1000};
/// A `now` earlier than the stack's last advance by more than this is taken as a different clock
/// (a new test with its own virtual clock) and rebases the stack instead of being ignored.
inline constexpr milliseconds kClockRebaseThreshold{1000};

// --- Batching ---------------------------------------------------------------------------------

/// Messages up to this size are not handed to usrsctp inside send() but queued and flushed in
/// one batch at the next poll_transmit() (which the drive rules call right after any app call).
/// The flush turns Nagle on for all but the last message of the batch, so usrsctp bundles a
/// burst of small messages into full packets instead of one packet each (SCTP_NODELAY, which
/// RFC 8831 §6.6 asks for, otherwise sends every message alone). Larger messages fill packets by
/// themselves and go straight to usrsctp without our copy.
inline constexpr std::size_t kBatchMaxMessage = 1024;

// --- Our own queues ----------------------------------------------------------------------------

/// Default cap on bytes waiting in our send queue (not yet accepted by usrsctp) across all streams
/// of one association; send() returns Blocked rather than exceed it (Config::send_buffer_limit).
inline constexpr std::size_t kDefaultSendBufferLimit = 16 * 1024 * 1024;
/// Packets received before connect() are kept (bounded) and replayed after it: the peer may finish
/// DTLS first and send INIT before our driver calls connect().
inline constexpr std::size_t kMaxEarlyPackets = 16;
/// Bytes read per usrsctp_recvv call into the stack-wide scratch buffer. Larger messages arrive in
/// pieces and are reassembled up to the local max message size.
inline constexpr std::size_t kReceiveChunk = 64 * 1024;
/// Notifications are small, except a stream-reset event listing many streams (2 bytes each).
inline constexpr std::size_t kMaxNotificationSize = 2 * 65536 + 64;

} // namespace posthorn::sctp::tuning
