// The WebSocket frame reader (net/ws_frame) on arbitrary bytes, as `posthorn relay` reads a
// client. The first byte picks how the rest is cut into reads. Invariants beyond "no crash":
//  - the cut does not matter: read whole or in pieces, the same messages (opcode, payload, close
//    status) and the same failure come out, in the same order;
//  - nothing over the limit is ever handed out, and between reads the reader holds at most an
//    unfinished frame (limit plus header) and an unfinished fragmented message (limit);
//  - after a failure it only fails;
//  - a message written by append_masked_frame reads back as itself.
#include "net/ws_frame.hpp"

#include <cstdlib>
#include <string>
#include <vector>

using namespace posthorn::net::ws;

namespace {

constexpr std::size_t kLimit = 4096;

struct Outcome {
  std::vector<std::string> events; // opcode, close status and payload, as one string each
  std::string failure;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

Outcome read(const std::string& wire, std::size_t step) {
  MessageReader reader({.max_message_bytes = kLimit, .expect_masked = true});
  Outcome out;
  std::vector<std::string> pieces; // each read's bytes, alive while the reader may look at them
  for (std::size_t at = 0; at < wire.size() && out.failure.empty(); at += step) {
    pieces.push_back(wire.substr(at, step));
    reader.feed(std::span<char>(pieces.back().data(), pieces.back().size()));
    for (;;) {
      auto r = reader.next();
      if (std::holds_alternative<NeedMore>(r)) break;
      if (auto* f = std::get_if<ReadFailure>(&r)) {
        out.failure = std::to_string(f->close_code) + f->why;
        if (!std::holds_alternative<ReadFailure>(reader.next())) std::abort();
        break;
      }
      const auto& m = std::get<Received>(r);
      if (m.payload.size() > kLimit) std::abort();
      out.events.push_back(std::to_string(static_cast<int>(m.opcode)) + ":" +
                           std::to_string(m.close_code) + ":" + std::string(m.payload));
    }
    if (reader.buffered_bytes() > 2 * kLimit + 14) std::abort();
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 64;
  const std::string wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = read(wire, wire.size() ? wire.size() : 1);
  if (read(wire, step) != whole) std::abort();

  // Round trip: the input as one text or binary message, masked with a key from its first bytes.
  const std::string payload = wire.substr(0, kLimit);
  const auto opcode = (data[0] & 1) ? Opcode::Binary : Opcode::Text;
  std::string framed;
  append_masked_frame(framed, opcode, payload, static_cast<std::uint32_t>(size * 2654435761u));
  const Outcome back = read(framed, step);
  if (opcode == Opcode::Binary || back.failure.empty()) {
    if (back.events.size() != 1 ||
        back.events[0] != std::to_string(static_cast<int>(opcode)) + ":0:" + payload)
      std::abort();
  }
  return 0;
}
