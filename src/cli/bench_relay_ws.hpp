#pragma once
// The client side of the WebSocket opening handshake (RFC 6455 §4.1) that `posthorn bench relay`
// needs to load a server with tens of thousands of connections from one thread. Sans-IO; the
// load generator (bench_relay_load) owns the sockets, and frames are net/ws_frame's.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace posthorn::cli::bench_ws {

/// The opening handshake's request (§4.1) for `host_port` ("127.0.0.1:8000"), path "/". The key
/// is fixed: every connection of the benchmark may send the same one (§4.1 asks for a random
/// nonce so that a client can tell a fresh answer; the benchmark checks the answer's accept value).
[[nodiscard]] std::string upgrade_request(std::string_view host_port);

/// Bytes of the server's response head (through the blank line) once it is whole; 0 while it is
/// incomplete; NotUpgraded when the head is whole but is not a 101 with the expected accept value.
struct NotUpgraded {
  std::string status_line;
};
[[nodiscard]] std::variant<std::size_t, NotUpgraded> upgrade_response_length(std::string_view data);

} // namespace posthorn::cli::bench_ws
