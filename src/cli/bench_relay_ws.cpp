#include "cli/bench_relay_ws.hpp"

#include <cstring>

namespace posthorn::cli::bench_ws {
namespace {

// RFC 6455 §1.3's example: this key's accept value is base64(SHA-1(key + GUID)) below.
constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

} // namespace

std::string upgrade_request(std::string_view host_port) {
  std::string r;
  r.reserve(160);
  r += "GET / HTTP/1.1\r\nHost: ";
  r += host_port;
  r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  r += kKey;
  r += "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  return r;
}

std::variant<std::size_t, NotUpgraded> upgrade_response_length(std::string_view data) {
  const auto end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::size_t{0};
  const auto head = data.substr(0, end + 4);
  const auto status_line = head.substr(0, head.find("\r\n"));
  if (status_line.rfind("HTTP/1.1 101", 0) != 0 || head.find(kAccept) == std::string_view::npos)
    return NotUpgraded{std::string(status_line)};
  return head.size();
}

void append_client_frame(std::string& out, Opcode opcode, std::string_view payload,
                         std::uint32_t mask) {
  const std::size_t n = payload.size();
  const std::size_t start = out.size();
  const std::size_t header = 2 + (n < 126 ? 0 : n < 65536 ? 2 : 8) + 4;
  out.resize(start + header + n);
  auto* p = reinterpret_cast<unsigned char*>(out.data() + start);
  *p++ = static_cast<unsigned char>(0x80 | static_cast<unsigned>(opcode)); // FIN
  // §5.2: 7-bit length, or 126 + 16-bit, or 127 + 64-bit, network byte order; MASK bit set.
  if (n < 126) {
    *p++ = static_cast<unsigned char>(0x80 | n);
  } else if (n < 65536) {
    *p++ = 0x80 | 126;
    *p++ = static_cast<unsigned char>(n >> 8);
    *p++ = static_cast<unsigned char>(n);
  } else {
    *p++ = 0x80 | 127;
    for (int shift = 56; shift >= 0; shift -= 8)
      *p++ = static_cast<unsigned char>(static_cast<std::uint64_t>(n) >> shift);
  }
  const unsigned char key[4] = {
      static_cast<unsigned char>(mask >> 24), static_cast<unsigned char>(mask >> 16),
      static_cast<unsigned char>(mask >> 8), static_cast<unsigned char>(mask)};
  std::memcpy(p, key, 4);
  p += 4;
  for (std::size_t i = 0; i < n; ++i)
    p[i] = static_cast<unsigned char>(payload[i]) ^ key[i & 3];
}

std::variant<ServerFrame, NeedMore, FrameError> parse_server_frame(std::span<const char> data) {
  if (data.size() < 2) return NeedMore{0};
  const auto* b = reinterpret_cast<const unsigned char*>(data.data());
  if ((b[0] & 0x70) != 0) return FrameError{"RSV bits set without an extension"};
  if ((b[1] & 0x80) != 0) return FrameError{"masked server frame"}; // §5.1
  std::uint64_t length = b[1] & 0x7F;
  std::size_t header = 2;
  if (length == 126) {
    if (data.size() < 4) return NeedMore{0};
    length = (std::uint64_t{b[2]} << 8) | b[3];
    header = 4;
  } else if (length == 127) {
    if (data.size() < 10) return NeedMore{0};
    length = 0;
    for (int i = 0; i < 8; ++i)
      length = (length << 8) | b[2 + i];
    header = 10;
  }
  if (length > (std::uint64_t{1} << 32)) return FrameError{"frame longer than 4 GiB"};
  const std::size_t size = header + static_cast<std::size_t>(length);
  if (data.size() < size) return NeedMore{size};
  const auto opcode = static_cast<Opcode>(b[0] & 0x0F);
  switch (opcode) {
  case Opcode::Continuation:
  case Opcode::Text:
  case Opcode::Binary:
  case Opcode::Close:
  case Opcode::Ping:
  case Opcode::Pong: break;
  default: return FrameError{"unknown opcode"};
  }
  return ServerFrame{opcode, (b[0] & 0x80) != 0,
                     std::string_view(data.data() + header, static_cast<std::size_t>(length)),
                     size};
}

} // namespace posthorn::cli::bench_ws
