#pragma once
// Which side of the DTLS handshake this endpoint plays.

#include <cstdint>

namespace posthorn::dtls {

/// RFC 8842 §5.2 / RFC 5763 §5: the SDP a=setup attribute decides. "active" sends the
/// ClientHello (Client); "passive" answers it (Server). The offerer says "actpass" and the
/// answerer picks; browsers answer "active", so an offering peer is usually the Server.
enum class Role : std::uint8_t { Client, Server };

} // namespace posthorn::dtls
