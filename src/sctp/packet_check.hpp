#pragma once
// A framing check run on every inbound SCTP packet before usrsctp sees it.
//
// usrsctp 0.9.5 (the version Debian 12 ships) walks chunk parameters with loops that trust the
// parameter length: an INIT on an established association whose parameter list (which usrsctp
// reads up to the end of the packet) holds a zero length makes sctp_are_there_new_addresses()
// spin forever (fixed upstream in c08562ec, "sctp: improve input validation", after 0.9.5),
// hanging the process-wide stack. Found by this layer's mutation test. DTLS authenticates the peer,
// but in a WebRTC room the peer itself is untrusted, so we reject any packet whose chunk or TLV
// framing is inconsistent before usrsctp parses it. The check never rejects a packet RFC 9260
// allows.

#include "core/bytes.hpp"

namespace posthorn::sctp {

/// True if the common header, every chunk length, and the parameter/cause lists of the chunks
/// that carry them (INIT, INIT ACK, HEARTBEAT, HEARTBEAT ACK, ABORT, ERROR, RE-CONFIG, ASCONF,
/// ASCONF ACK) are self-consistent: each length at least 4 and inside its container.
bool is_well_formed_packet(ByteView packet) noexcept;

} // namespace posthorn::sctp
