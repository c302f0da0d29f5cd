// STUN/TURN server URL fuzz target (ice/server_url, pure parsing: never DNS). Invariants beyond
// "no crash":
//  - a parsed URL has a non-empty host and a non-zero port;
//  - printing it back (scheme, host in brackets when it has a ':', port, transport) and parsing
//    that again gives the same URL.
#include "ice/server_url.hpp"

#include <cstdlib>
#include <string>

using namespace posthorn::ice;

namespace {

std::string print(const char* scheme, const ServerUrl& url, bool with_transport) {
  const bool bracket = url.host.find(':') != std::string::npos || url.host.starts_with('[');
  std::string host = bracket ? "[" + url.host + "]" : url.host;
  std::string out = std::string(scheme) + host + ":" + std::to_string(url.port);
  if (with_transport)
    out += url.transport == TurnTransport::Tcp ? "?transport=tcp" : "?transport=udp";
  return out;
}

void check(const ServerUrlResult& parsed, ServerUrlResult (*parse)(std::string_view),
           const char* scheme, bool with_transport) {
  if (!parsed) {
    if (parsed.error().empty()) std::abort(); // every refusal says why
    return;
  }
  const ServerUrl& url = *parsed;
  if (url.host.empty() || url.port == 0) std::abort();
  auto again = parse(print(scheme, url, with_transport));
  if (!again) std::abort();
  const ServerUrl& back = *again;
  if (back.host != url.host || back.port != url.port || back.transport != url.transport)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check(parse_stun_url(text), parse_stun_url, "stun:", false);
  check(parse_turn_url(text), parse_turn_url, "turn:", true);
  return 0;
}
