#pragma once
// VirtualWallClock: makes the C libraries' hidden wall clock follow the sim's virtual clock.
//
// Our cores take `now` as an input, but two C libraries underneath also read gettimeofday():
//   - usrsctp stamps every DATA chunk with it, measures RTT with it, and on a T3 timeout only
//     marks for retransmission the chunks sent more than srtt + rttvar ago *by that clock*
//     (sctp_timer.c, sctp_mark_all_for_resend). Its timers run on our virtual clock, so when
//     virtual time runs ahead of real time (always, in the sim) a T3 timeout marks nothing, backs
//     off and counts a path error: a lost retransmission is never repaired and the association
//     stalls for good (see docs/testing.md and the sim scenario notes).
//   - OpenSSL keeps the DTLS retransmission timer on it (dtls/endpoint.hpp, "Timers"), so lost
//     handshake flights are never retransmitted under a virtual clock.
// In production both clocks are the real one and agree. In the sim, while a VirtualWallClock is
// alive, this test binary's gettimeofday() (it interposes the libc symbol, which libusrsctp and
// libssl import dynamically) returns a wall time that advances exactly with the network's virtual
// clock. Without one, gettimeofday() is the real clock, kept monotonic.
//
// Process-wide, like the libraries' use of it: one Network at a time (nesting for the same
// network is counted; another network while one is installed throws std::logic_error). SimPeer
// installs one for its network, so scenarios need not think about it.
//
//   sim::Network net(seed);
//   sim::VirtualWallClock clock(net);   // usrsctp and DTLS timers now agree with net.now()

#include "sim_net.hpp"

namespace posthorn::sim {

class VirtualWallClock {
public:
  explicit VirtualWallClock(const Network& net);
  ~VirtualWallClock();
  VirtualWallClock(const VirtualWallClock&) = delete;
  VirtualWallClock& operator=(const VirtualWallClock&) = delete;

  /// Whether a virtual wall clock is installed right now.
  [[nodiscard]] static bool installed() noexcept;
  /// Whether libc's gettimeofday() really is ours in this process (the interposition worked):
  /// checked by asking it while installed.
  [[nodiscard]] static bool interposed() noexcept;
};

} // namespace posthorn::sim
