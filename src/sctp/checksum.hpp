#pragma once
// The CRC32c checksum of outgoing SCTP packets (RFC 9260 §6.8 and Appendix A).
//
// usrsctp runs with CRC32c offload on (usrsctp_stack.cpp explains why), so we fill the checksum
// of every packet it emits. On x86-64 with SSE4.2 this uses the crc32 instruction, several times
// faster than usrsctp's table-driven code (a few percent of the whole send path); elsewhere it
// falls back to usrsctp_crc32c.

#include "core/bytes.hpp"

namespace posthorn::sctp {

/// Computes the CRC32c of `packet` (an SCTP common header and chunks) with the checksum field
/// taken as zero, and stores it in bytes 8..11 in wire order. `packet` must hold >= 12 bytes.
void fill_checksum(MutableByteView packet) noexcept;

} // namespace posthorn::sctp
