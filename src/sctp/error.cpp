#include "sctp/error.hpp"

namespace posthorn::sctp {

const char* describe(Errc e) noexcept {
  switch (e) {
  case Errc::Truncated: return "DCEP message truncated";
  case Errc::BadLength: return "DCEP label or protocol length exceeds the message";
  case Errc::UnknownMessageType: return "unknown DCEP message type";
  case Errc::UnknownChannelType: return "unknown DCEP channel type";
  case Errc::InvalidOptions: return "invalid data channel options";
  case Errc::UnknownChannel: return "no data channel on that stream";
  case Errc::ChannelNotOpen: return "data channel is not open yet";
  case Errc::StreamInUse: return "stream id already in use";
  case Errc::NoStreamAvailable: return "no free SCTP stream id";
  case Errc::MessageTooLarge: return "message larger than the allowed maximum";
  case Errc::Blocked: return "send queue full";
  case Errc::ChannelClosing: return "data channel is closing";
  case Errc::NotConnected: return "SCTP association is not connected";
  case Errc::ShutDown: return "SCTP association shut down";
  case Errc::Aborted: return "SCTP association aborted locally";
  case Errc::AbortedByPeer: return "SCTP association aborted by the peer";
  case Errc::PeerRestarted: return "SCTP peer restarted the association";
  case Errc::SocketError: return "usrsctp call failed";
  case Errc::ConnectFailed: return "SCTP association setup timed out";
  case Errc::ConnectionLost: return "SCTP association lost (retransmissions exhausted)";
  }
  return "unknown sctp error";
}

Condition classify(Errc e) noexcept {
  switch (e) {
  case Errc::Truncated:
  case Errc::BadLength:
  case Errc::UnknownMessageType:
  case Errc::UnknownChannelType: return Condition::ProtocolViolation;
  case Errc::InvalidOptions:
  case Errc::UnknownChannel:
  case Errc::ChannelNotOpen:
  case Errc::StreamInUse:
  case Errc::NoStreamAvailable:
  case Errc::MessageTooLarge: return Condition::InvalidArgument;
  case Errc::Blocked: return Condition::Blocked;
  case Errc::ChannelClosing:
  case Errc::NotConnected:
  case Errc::ShutDown:
  case Errc::Aborted:
  case Errc::AbortedByPeer:
  case Errc::PeerRestarted:
  case Errc::SocketError: return Condition::Closed;
  case Errc::ConnectFailed:
  case Errc::ConnectionLost: return Condition::TimedOut;
  }
  return Condition::ProtocolViolation;
}

} // namespace posthorn::sctp
