#pragma once

namespace posthorn::sctp {

/// Initializes the process-wide usrsctp stack now, if it is not yet. Idempotent and cheap after
/// the first call. PeerConnections call it on construction so that usrsctp's one-time setup
/// (milliseconds) is not paid between DTLS and SCTP in the middle of connection setup.
void initialize_stack();

} // namespace posthorn::sctp
