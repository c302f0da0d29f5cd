#pragma once
// Private parts of Association shared by its implementation files (association*.cpp). Not for
// other layers.

#include "sctp/association.hpp"

namespace posthorn::sctp {

struct Association::Channel {
  enum class Phase : std::uint8_t {
    Pending, // created before COMM_UP: opened (DCEP OPEN sent, ChannelOpen emitted) on connect
    Open,
    Closing, // our outgoing reset is queued or issued, or the peer reset its stream
  };

  StreamId id = 0;
  ChannelOptions options;
  bool remote = false;
  Phase phase = Phase::Pending;
  bool announced = false; // ChannelOpen emitted (so ChannelClosed is owed)
  /// RFC 8832 §6: until anything (ACK or data) arrives from the peer on this stream, our messages
  /// go ordered even on an unordered channel, so they cannot overtake the DATA_CHANNEL_OPEN.
  bool peer_spoke = false;
  bool reset_queued = false;   // our outgoing stream reset is queued or issued
  bool out_reset_done = false; // the peer confirmed our outgoing reset
  bool in_reset_done = false;  // the peer reset its outgoing stream
  bool owes_low_event = false; // a send() was refused with Blocked
  std::size_t buffered = 0;    // user bytes of this channel in our queue
  std::size_t low_threshold = 0;

  // Send parameters, fixed when the channel opens.
  PrPolicy pr_policy = PrPolicy::None;
  std::uint32_t pr_value = 0;

  // Deprecated PPID-based fragmentation (RFC 8831 §6.6: PPIDs 52/54 mark non-final pieces).
  Bytes legacy;
  bool legacy_active = false;
  bool legacy_overflow = false;
};

/// One SCTP user message being received in pieces (usrsctp_recvv returns at most
/// tuning::kReceiveChunk bytes per call, and delivers messages past its partial delivery point
/// before they are complete). With SCTP_FRAGMENT_INTERLEAVE 0 pieces of different messages never
/// interleave on our one-to-one socket, so one buffer per association is enough.
struct Association::Reassembly {
  bool active = false;
  bool discarding = false; // over the size limit: skip until the end of the record
  StreamId stream = 0;
  std::uint32_t ppid = 0;
  Bytes data;
};

/// Largest DCEP message: a DATA_CHANNEL_OPEN with a 65535-byte label and protocol.
inline constexpr std::size_t kMaxDcepMessage = kDcepOpenHeaderSize + 2 * 65535;

} // namespace posthorn::sctp
