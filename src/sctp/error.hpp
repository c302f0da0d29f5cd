#pragma once
// Errors of the sctp layer (pattern: src/core/error.hpp). Each maps to a public Condition so that
// the rtc layer and applications classify without knowing this enum.

#include "core/error.hpp"

namespace posthorn::sctp {

enum class Errc {
  // DCEP codec (RFC 8832 §5): remote input, classified ProtocolViolation.
  Truncated = 1,      // shorter than the fixed header of its message type
  BadLength,          // label/protocol length runs past the end of the message
  UnknownMessageType, // neither DATA_CHANNEL_OPEN (0x03) nor DATA_CHANNEL_ACK (0x02)
  UnknownChannelType, // channel type outside RFC 8832 §5.1's six values
  // Caller misuse, classified InvalidArgument.
  InvalidOptions,    // e.g. both max_retransmits and max_packet_lifetime, label over 65535 bytes
  UnknownChannel,    // no channel with that stream id
  ChannelNotOpen,    // the channel is waiting for the association (send before ChannelOpen)
  StreamInUse,       // negotiated id already taken
  NoStreamAvailable, // every stream id of our parity below the negotiated limit is taken
  MessageTooLarge,   // over the peer's a=max-message-size (RFC 8841 §6), or over our queue cap
  // Back-pressure.
  Blocked, // our send queue is full; wait for BufferedAmountLow
  // The channel or association is gone.
  ChannelClosing, // close_channel() was called or the peer reset the stream
  NotConnected,   // the association is closed (or never started)
  ShutDown,       // graceful SHUTDOWN completed (either side)
  Aborted,        // we aborted (abort())
  AbortedByPeer,  // the peer sent ABORT
  PeerRestarted,  // the peer restarted the association: channels are gone
  SocketError,    // usrsctp refused a call it should accept (resources, internal state)
  // Timeouts.
  ConnectFailed,  // INIT/COOKIE retransmissions exhausted
  ConnectionLost, // DATA/HEARTBEAT retransmissions exhausted
};

const char* describe(Errc e) noexcept;
Condition classify(Errc e) noexcept;
inline error_code make_error_code(Errc e) noexcept {
  return detail::make_layer_error(e, "posthorn.sctp");
}

} // namespace posthorn::sctp

template <> struct boost::system::is_error_code_enum<posthorn::sctp::Errc> : std::true_type {};
