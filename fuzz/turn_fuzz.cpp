// TURN fuzz target: ChannelData, the TCP stream framer, and the TurnClient's response and data
// handling. Invariants beyond "no crash":
//  - ChannelData: decode → encode (unpadded and padded) → decode gives the same channel and data,
//    and the padded form is a multiple of 4 bytes;
//  - the stream framer's frames do not depend on how the bytes are chunked, and laid end to end
//    they are a prefix of the input;
//  - a TurnClient whose authenticated Allocate is in flight never becomes Allocated from bytes
//    that cannot carry a MESSAGE-INTEGRITY under its long-term key (the fuzzer cannot forge
//    HMAC-SHA1), over UDP or TCP;
//  - an allocated client delivers PeerData only from the peer it holds a permission and a
//    channel for, and input alone never fails or closes its allocation (no request is in flight).
// The client's transaction ids come from a SeededRng, so seeds in fuzz/corpus/turn/ can answer
// them (a 438 Stale Nonce, a Data indication, ChannelData for the bound channel).
#include "core/rng.hpp"
#include "ice/stun_message.hpp"
#include "ice/turn_client.hpp"
#include "ice/turn_codec.hpp"

#include <cstdlib>
#include <vector>

using namespace posthorn;
using namespace posthorn::ice;

namespace {

const SocketAddress kServer = *SocketAddress::parse("192.0.2.1:3478");
const SocketAddress kRelayed = *SocketAddress::parse("192.0.2.1:50000");
const SocketAddress kPeer = *SocketAddress::parse("198.51.100.7:6000");

void check(bool ok) {
  if (!ok) std::abort();
}

StunMessage take_request(TurnClient& c) {
  auto b = c.poll_transmit();
  check(b.has_value());
  auto m = StunMessage::decode(*b);
  check(m.has_value());
  while (c.poll_transmit()) {
  }
  return *m;
}

StunMessage reply(const StunMessage& req, StunClass cls) {
  return StunMessage(cls, static_cast<StunMethod>(req.method_code()), req.transaction_id());
}

/// A client with its authenticated Allocate in flight (the 401 challenge answered).
void to_authenticated_allocate(TurnClient& c, TimePoint now) {
  c.start(now);
  auto first = take_request(c);
  auto challenge = reply(first, StunClass::ErrorResponse);
  challenge.add_error(401, "Unauthorized");
  challenge.add_string(stun_attr::kRealm, "example.org");
  challenge.add_string(stun_attr::kNonce, "nonce-1");
  c.handle_datagram(now, challenge.encode(std::nullopt, true));
}

/// A fully allocated client with a permission and channel 0x4000 bound to kPeer.
void to_allocated(TurnClient& c, TimePoint now, const Bytes& key) {
  to_authenticated_allocate(c, now);
  auto auth = take_request(c);
  auto ok = reply(auth, StunClass::SuccessResponse);
  ok.add_xor_address(stun_attr::kXorRelayedAddress, kRelayed);
  ok.add_u32(stun_attr::kLifetime, 600);
  c.handle_datagram(now, ok.encode(ByteView(key), true));
  check(c.state() == TurnState::Allocated);
  check(c.send_to(now, kPeer, as_bytes("x")).has_value());
  auto bind = take_request(c);
  c.handle_datagram(now, reply(bind, StunClass::SuccessResponse).encode(ByteView(key), true));
  check(c.has_channel(kPeer));
  while (c.poll_transmit()) {
  }
  while (c.poll_event()) {
  }
}

void feed(TurnClient& c, TurnTransport transport, TimePoint now, ByteView input) {
  if (transport == TurnTransport::Udp) {
    c.handle_datagram(now, input);
  } else {
    const std::size_t half = input.size() / 2;
    c.handle_stream_bytes(now, input.first(half));
    c.handle_stream_bytes(now, input.subspan(half));
  }
}

void fuzz_channel_data(ByteView input) {
  auto cd = decode_channel_data(input);
  if (!cd) return;
  check(is_valid_channel_number(cd->channel));
  for (bool pad : {false, true}) {
    Bytes wire = encode_channel_data(cd->channel, cd->data, pad);
    check(!pad || wire.size() % 4 == 0);
    auto again = decode_channel_data(wire);
    check(again.has_value() && again->channel == cd->channel &&
          Bytes(again->data.begin(), again->data.end()) == Bytes(cd->data.begin(), cd->data.end()));
  }
}

std::vector<Bytes> frames_of(ByteView input, std::size_t chunk) {
  TurnStreamFramer framer;
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    framer.push(input.subspan(i, std::min(chunk, input.size() - i)));
    for (;;) {
      auto f = framer.next();
      if (!f) return out;
      if (!*f) break;
      out.push_back(std::move(**f));
    }
  }
  return out;
}

void fuzz_framer(ByteView input) {
  auto whole = frames_of(input, input.size() + 1);
  check(frames_of(input, 1) == whole);
  check(frames_of(input, 7) == whole);
  std::size_t offset = 0;
  for (const auto& f : whole) {
    check(offset + f.size() <= input.size());
    check(std::equal(f.begin(), f.end(), input.begin() + static_cast<std::ptrdiff_t>(offset)));
    offset += f.size();
  }
}

void fuzz_client(ByteView input) {
  const TimePoint now = TimePoint{} + seconds(1000);
  const Bytes key = long_term_key("alice", "example.org", "secret");
  for (auto transport : {TurnTransport::Udp, TurnTransport::Tcp}) {
    TurnServerConfig config;
    config.server = kServer;
    config.transport = transport;
    config.username = "alice";
    config.password = "secret";
    {
      SeededRng rng(1);
      TurnClient c(config, rng);
      to_authenticated_allocate(c, now);
      feed(c, transport, now, input);
      check(c.state() != TurnState::Allocated);
      while (c.poll_transmit()) {
      }
      while (auto e = c.poll_event())
        check(!std::holds_alternative<turn_event::Allocated>(*e) &&
              !std::holds_alternative<turn_event::PeerData>(*e));
    }
    {
      SeededRng rng(2);
      TurnClient c(config, rng);
      to_allocated(c, now, key);
      feed(c, transport, now, input);
      std::size_t events = 0;
      while (auto e = c.poll_event()) {
        ++events;
        if (const auto* d = std::get_if<turn_event::PeerData>(&*e))
          check(d->from.ip() == kPeer.ip());
        // The stream can lose framing (that is the only way input alone ends it over TCP).
        if (transport == TurnTransport::Udp)
          check(!std::holds_alternative<turn_event::AllocationFailed>(*e));
      }
      check(events <= input.size() / 4 + 1); // every event needs at least a 4-byte frame
      if (transport == TurnTransport::Udp) check(c.state() == TurnState::Allocated);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView input(data, size);
  fuzz_channel_data(input);
  fuzz_framer(input);
  fuzz_client(input);
  return 0;
}
