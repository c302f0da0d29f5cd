// mDNS codec and resolver fuzz target. Invariants beyond "no crash":
//  - Message::decode() is total, and names it returns are valid (at most 255 octets);
//  - a decoded message re-encodes (uncompressed) to bytes that decode to an equal message and
//    re-encode to the same bytes;
//  - every decoded name prints to text that parses back to the same wire form;
//  - the resolver, fed the input as a response to a pending query, emits at most one event for
//    it, and a Resolved address is a usable A/AAAA record of the queried name in the input;
//  - the resolver's cache stays within its bound.
#include "ice/mdns_message.hpp"
#include "ice/mdns_resolver.hpp"

#include <cstdlib>

using namespace posthorn;
using namespace posthorn::ice::mdns;

namespace {

void check_name(const Name& name) {
  if (name.wire().size() > kMaxNameLength) std::abort();
  auto again = Name::parse(name.to_string());
  if (!again || again->wire() != name.wire()) std::abort();
}

bool is_answer_for(const Message& m, const Name& name, const IpAddress& ip) {
  for (const auto* section : {&m.answers, &m.additionals})
    for (const auto& r : *section)
      if (r.name == name && r.address() == ip && r.ttl != 0 && r.ttl < 0x80000000u) return true;
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView input(data, size);
  auto msg = Message::decode(input);
  if (msg) {
    for (const auto& q : msg->questions)
      check_name(q.name);
    for (const auto* section : {&msg->answers, &msg->authorities, &msg->additionals})
      for (const auto& r : *section)
        check_name(r.name);
    const Bytes wire = msg->encode();
    auto again = Message::decode(wire);
    if (!again || !(*again == *msg) || again->encode() != wire) std::abort();
  }

  // The resolver waits for the first answer name in the input (or a fixed name), so inputs that
  // do answer it reach the resolving path.
  Name wanted = *Name::parse("fuzz.local");
  if (msg && !msg->answers.empty() && msg->answers.front().name.is_local())
    wanted = msg->answers.front().name;
  ResolverConfig config;
  config.max_cache_entries = 4;
  Resolver resolver(config);
  const TimePoint now{};
  auto id = resolver.resolve(now, wanted.to_string());
  if (!id) return 0; // a name Name::parse accepts but resolve() refuses is not for us to test
  resolver.handle_datagram(now, SocketAddress(IpAddress::v4(0x0a000001), kPort), input);
  int events = 0;
  while (auto e = resolver.poll_event()) {
    ++events;
    if (auto* r = std::get_if<Resolved>(&*e)) {
      if (r->id != *id || !msg || !is_answer_for(*msg, wanted, r->address)) std::abort();
      if (r->address.is_unspecified()) std::abort();
    } else {
      std::abort(); // Failed cannot happen before the deadline
    }
  }
  if (events > 1) std::abort();
  if ((events == 1) != (resolver.outstanding() == 0)) std::abort();
  if (resolver.cache_size() > config.max_cache_entries) std::abort();
  while (resolver.poll_transmit()) {
  }
  return 0;
}
