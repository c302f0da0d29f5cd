#pragma once
// Tuned constants of the room protocol layer, each with the reason for its value. The limits are
// defaults of ReassemblerLimits; the room runtime may override them from its public config.

#include <chrono>
#include <cstddef>

namespace posthorn::room::tuning {

/// Largest message (payload + metadata JSON) reassembled in memory. Trystero has no limit: a
/// browser holds every partial message whole. 32 MiB covers every JSON or text message and the
/// usual in-memory binary sends (images, small files); bigger transfers use streaming mode (the
/// application supplies a sink and nothing is buffered), where this limit does not apply.
inline constexpr std::size_t kDefaultMaxMessageBytes = 32u << 20;

/// Bytes of partial messages held for one peer. JS interleaves concurrent sends chunk by chunk,
/// so two maximal messages may be in flight at once; the per-peer bound makes a room of N peers
/// hold at most N × 64 MiB however the peers behave.
inline constexpr std::size_t kDefaultMaxBufferedBytesPerPeer = 64u << 20;

/// Messages of one peer in reassembly at the same time (each distinct (type, nonce) is one). A
/// JS application rarely has more than a handful of sends in flight; the bound stops a peer
/// from opening 65 536 nonces × many types with tiny chunks, each costing a map node.
inline constexpr std::size_t kDefaultMaxPartialMessagesPerPeer = 64;

/// After a message is dropped, its remaining chunks are swallowed until its last chunk, so they
/// are not mistaken for a new message (which would deliver the truncated tail). These records
/// hold no data (a key and a flag); the oldest is forgotten beyond this many per peer.
inline constexpr std::size_t kMaxDiscardRecordsPerPeer = 256;

/// §10: JS's handshakeTimeoutMs default.
inline constexpr std::chrono::milliseconds kHandshakeTimeout{10'000};

} // namespace posthorn::room::tuning
