// Fuzz target for the MQTT 3.1.1 stream decoder (signal/mqtt_codec.hpp). The first input byte
// picks the options (skip mode, a small or the default max packet size) and the transport's chunk
// size; the rest is the broker's byte stream. Invariants, not just "no crash":
//   * the decoder's output does not depend on how the stream was split: fed whole or in chunks,
//     it yields the same packets and ends in the same state (same error, or waiting for input);
//   * every decoded packet re-encodes, and that encoding decodes back to an equal packet;
//   * after poll() is drained, at most one partial packet stays buffered: fewer bytes than
//     max_packet_size plus the largest fixed header (5);
//   * a failure is sticky: more input is ignored and poll() keeps returning the same error, and
//     every error is one of the codec's own, classified as a ProtocolViolation.
#include "signal/mqtt_codec.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

using namespace posthorn;
using namespace posthorn::signal::mqtt;

struct Outcome {
  std::vector<Packet> packets;
  error_code error;
};

void drain(Decoder& d, Outcome& out) {
  for (;;) {
    auto p = d.poll();
    if (!p) {
      out.error = p.error();
      return;
    }
    if (!*p) return;
    out.packets.push_back(std::move(**p));
  }
}

void check_bounded(const Decoder& d) {
  if (d.failed()) {
    if (d.buffered() != 0) std::abort();
  } else if (d.buffered() >= d.options().max_packet_size + 5) {
    std::abort();
  }
}

Outcome run(ByteView stream, DecoderOptions options, std::size_t chunk) {
  Decoder d(options);
  Outcome out;
  for (std::size_t i = 0; i < stream.size() && !out.error; i += chunk) {
    d.feed(stream.subspan(i, std::min(chunk, stream.size() - i)));
    drain(d, out);
    check_bounded(d);
  }
  if (out.error) {
    d.feed(stream); // ignored
    auto again = d.poll();
    if (again || again.error() != out.error || d.buffered() != 0) std::abort();
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t knobs = data[0];
  const ByteView stream(data + 1, size - 1);
  DecoderOptions options{.max_packet_size =
                             (knobs & 0x01) ? std::size_t{64} : kDefaultMaxPacketSize,
                         .skip_oversized_publish = (knobs & 0x02) != 0};
  const std::size_t chunk = 1 + (knobs >> 2); // 1..64

  const Outcome whole = run(stream, options, stream.size() + 1);
  const Outcome split = run(stream, options, chunk);
  if (whole.packets != split.packets || whole.error != split.error) std::abort();

  if (whole.error) {
    if (whole.error.category() != make_error_code(Errc::MalformedPacket).category()) std::abort();
    if (whole.error != Condition::ProtocolViolation) std::abort();
  }

  for (const auto& packet : whole.packets) {
    if (std::holds_alternative<SkippedPublish>(packet)) {
      if (!options.skip_oversized_publish) std::abort();
      if (std::get<SkippedPublish>(packet).packet_size <= options.max_packet_size) std::abort();
      continue;
    }
    auto bytes = encode(packet);
    if (!bytes) std::abort();
    if (bytes->size() > options.max_packet_size) std::abort();
    Decoder d(options);
    d.feed(*bytes);
    auto again = d.poll();
    if (!again || !*again || **again != packet || d.buffered() != 0) std::abort();
  }
  return 0;
}
