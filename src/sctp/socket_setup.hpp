#pragma once
// Creation and configuration of the one usrsctp socket behind each Association.

#include "sctp/usrsctp_stack.hpp"

#include <cstdint>

namespace posthorn::sctp::detail {

/// Creates a non-blocking AF_CONN one-to-one socket whose upcall reports to `port`, with every
/// option of tuning.hpp applied. Returns nullptr (after logging why) on failure. Call in a Session.
struct socket* make_socket(PortId port);

/// Binds to `local_port` and starts the association towards `remote_port`, both on the AF_CONN
/// address `port` (usrsctp routes AF_CONN packets by this opaque address). Call in a Session.
bool bind_and_connect(struct socket* so, PortId port, std::uint16_t local_port,
                      std::uint16_t remote_port);

} // namespace posthorn::sctp::detail
