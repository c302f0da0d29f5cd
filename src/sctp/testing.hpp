#pragma once
// Test-only access to sctp internals (STYLE.md: one explicit testing.hpp per layer). Production
// code must not include this.

#include "sctp/association.hpp"

#include <optional>

namespace posthorn::sctp {

struct AssociationTesting {
  /// usrsctp's view of the association (SCTP_STATUS), for diagnosing tests.
  struct Status {
    int state = 0;
    std::uint32_t peer_rwnd = 0;
    std::uint16_t unacked_chunks = 0;
    std::uint16_t pending_chunks = 0;
    std::uint32_t cwnd = 0;
    std::uint32_t srtt_ms = 0;
    std::uint32_t rto_ms = 0;
    std::uint32_t mtu = 0;
  };
  static std::optional<Status> status(Association& a);

  /// Queues one SCTP user message with any PPID on any stream below the stream limit, ordered and
  /// reliable, bypassing channel state: lets tests play an old or misbehaving peer (deprecated
  /// partial PPIDs, unknown PPIDs, DCEP garbage, data on streams without a channel).
  static result<void> send_raw(Association& a, StreamId stream, std::uint32_t ppid, ByteView data);
};

} // namespace posthorn::sctp
