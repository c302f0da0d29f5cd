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

} // namespace posthorn::cli::bench_ws
