#pragma once
// Tuned constants of the room runtime, each with the reason for its value.

#include <chrono>
#include <cstddef>

namespace posthorn::detail::tuning {

/// A link stops producing chunks while this much is queued on its data channel. Trystero waits
/// for bufferedAmount <= 64 KiB before each 16 KiB chunk (spec §6.2), which caps one channel at
/// about one chunk per round trip of its event loop; 1 MiB keeps usrsctp's window full on fast
/// paths while bounding memory per peer.
inline constexpr std::size_t kLinkHighWaterBytes = 1024 * 1024;
/// bufferedamountlow threshold: refill when half the high-water mark drained.
inline constexpr std::size_t kLinkLowWaterBytes = kLinkHighWaterBytes / 2;

/// spec §6.4: JS treats a connection that stays "disconnected" for 5 s as gone. We do the same so
/// both sides agree on membership.
inline constexpr std::chrono::milliseconds kDisconnectedGrace{5000};

/// Signaling connections (a broker, relays) stay open this long after their last room left, so
/// that the next join does not wait for a new connection (a WebSocket upgrade to a local mosquitto
/// alone takes ~100 ms). Trystero keeps them open for the life of the page; a minute bounds what an
/// idle process holds.
inline constexpr std::chrono::milliseconds kSignalingLinger{60'000};

/// spec §7.2: a link with no room attached is kept this long (a room may attach again), as JS.
inline constexpr std::chrono::milliseconds kIdleLinkLinger{123'333};

/// spec §9: after sending @_leave, JS waits 99 ms before tearing the room down and sending
/// presence 0, so the goodbye is written first.
inline constexpr std::chrono::milliseconds kLeaveFlushDelay{99};
/// Non-trickle signaling (torrent) sends an SDP once ICE gathering completes, or after this long
/// with what it has (JS: 15 000 ms, spec §5.2).
inline constexpr std::chrono::milliseconds kGatheringLimit{15'000};

/// spec §11: a request that finds no handler within this long is answered with an error.
inline constexpr std::chrono::milliseconds kRequestHandlerGrace{500};

/// Frames for a room token nobody attached yet are buffered (§7.2) up to this many per link;
/// beyond it they are dropped and counted.
inline constexpr std::size_t kMaxBufferedUnattachedFrames = 256;

/// Complete messages for an action not registered yet are queued (§8.6) up to this many per
/// room; beyond it they are dropped and counted.
inline constexpr std::size_t kMaxQueuedUnregisteredMessages = 256;

} // namespace posthorn::detail::tuning
