#pragma once
// ICE timing constants. Each one is a default of AgentConfig::timing, with the reason it has the
// value it has. Tests shrink or stretch them through the config, never by editing this file.

#include "core/time.hpp"

namespace posthorn::ice {

struct IceTiming {
  /// RFC 8445 §14.2 pacing interval between new checks. The RFC's default of 50 ms is sized for
  /// many media streams with dozens of pairs each; a data-channel session has one component and
  /// a handful of pairs, and setup latency is a headline figure, so we pace at 25 ms (40 checks/s,
  /// ~4 kB/s) — still well inside the RFC's congestion argument.
  Duration pacing = milliseconds(25);
  /// Initial retransmission timeout of a connectivity check. RFC 8445 §14.3 bases RTO on the
  /// number of pairs; with few pairs 250 ms reaches loopback and LAN peers quickly after a loss.
  Duration check_rto = milliseconds(250);
  /// RTO doubles up to this cap (RFC 8489 §6.2.1 exponential backoff).
  Duration check_rto_max = milliseconds(3000);
  /// RFC 8489 §6.2.1 Rc: transmissions before a check is declared failed (≈ 12 s with the above).
  int check_max_transmissions = 7;
  /// Gathering transactions to STUN servers: shorter, since a missing srflx candidate is not fatal.
  Duration gather_rto = milliseconds(300);
  int gather_max_transmissions = 4;
  /// Controlling agent: how long to wait for a better pair after the first success before
  /// nominating the best valid pair (RFC 8445 §8.1.1 leaves this to the implementation). A
  /// success on the highest-priority pair nominates at once.
  Duration nomination_delay = milliseconds(100);
  /// RFC 7675 §5.1: consent checks every 4-6 s (randomized to avoid synchronization) ...
  Duration consent_interval = seconds(5);
  /// ... consent expires 30 s after the last successful check; the session then fails.
  Duration consent_timeout = seconds(30);
  /// No response or data on the selected pair for this long → Disconnected (W3C state); it is
  /// cleared by the next response. Two missed consent rounds.
  Duration disconnected_timeout = seconds(11);
  /// With no valid pair after this long, and nothing left to check, the agent fails even if the
  /// remote never signalled end-of-candidates (many stacks never do).
  Duration connect_timeout = seconds(30);
};

} // namespace posthorn::ice
