#pragma once
// The client side of WebSocket (RFC 6455) that `posthorn bench relay` needs to load a server
// with tens of thousands of connections from one thread: the upgrade request, masked client
// frames, and unmasked server frames. Sans-IO (bytes in, values out); the load generator
// (bench_relay_load) owns the sockets. No extensions are offered, so no RSV bits are expected.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace posthorn::cli::bench_ws {

enum class Opcode : std::uint8_t {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xA,
};

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

/// Appends one client frame: FIN set, the payload masked with `mask` (§5.3: every client frame is
/// masked; any key is valid for the server, which XORs it away).
void append_client_frame(std::string& out, Opcode opcode, std::string_view payload,
                         std::uint32_t mask);

struct ServerFrame {
  Opcode opcode;
  bool fin;
  std::string_view payload; ///< points into the parsed bytes
  std::size_t size;         ///< header and payload
};
/// The frame is not all there: `size` is its whole length once the header is (0 before).
struct NeedMore {
  std::size_t size;
};
struct FrameError {
  const char* why;
};
/// The first frame of `data`, which a server sent (§5.1: unmasked).
[[nodiscard]] std::variant<ServerFrame, NeedMore, FrameError>
parse_server_frame(std::span<const char> data);

} // namespace posthorn::cli::bench_ws
