#pragma once
// Test-only access to sctp internals (STYLE.md: one explicit testing.hpp per layer). Production
// code must not include this.

#include "sctp/association.hpp"

namespace posthorn::sctp {

struct AssociationTesting {
  /// Queues one SCTP user message with any PPID on any stream below the stream limit, ordered and
  /// reliable, bypassing channel state: lets tests play an old or misbehaving peer (deprecated
  /// partial PPIDs, unknown PPIDs, DCEP garbage, data on streams without a channel).
  static result<void> send_raw(Association& a, StreamId stream, std::uint32_t ppid, ByteView data);
};

} // namespace posthorn::sctp
