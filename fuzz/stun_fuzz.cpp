// STUN codec fuzz target. Invariants beyond "no crash":
//  - decode() is total: any input gives a message or an error;
//  - a decoded message re-encodes to something that decodes again with the same class, method,
//    transaction id and attributes (attributes after MESSAGE-INTEGRITY are dropped by design);
//  - integrity added by encode() always verifies, and never verifies under another key;
//  - the ICE agent survives the input as a request/response from an unknown peer.
#include "core/rng.hpp"
#include "ice/agent.hpp"
#include "ice/stun_message.hpp"

#include <cstdlib>

using namespace posthorn;
using namespace posthorn::ice;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteView input(data, size);
  auto msg = StunMessage::decode(input);
  if (msg) {
    StunMessage copy(msg->cls(), static_cast<StunMethod>(msg->method_code()),
                     msg->transaction_id());
    for (const auto& a : msg->attributes()) {
      if (a.type != stun_attr::kMessageIntegrity && a.type != stun_attr::kFingerprint)
        copy.add(a.type, a.value);
    }
    Bytes wire = copy.encode(as_bytes("key"), true);
    auto again = StunMessage::decode(wire);
    if (!again) std::abort();
    if (again->cls() != msg->cls() || again->method_code() != msg->method_code() ||
        again->transaction_id() != msg->transaction_id())
      std::abort();
    if (!again->check_integrity(as_bytes("key")) || again->check_integrity(as_bytes("other")))
      std::abort();
    std::size_t plain = 0;
    for (const auto& a : msg->attributes())
      plain += a.type != stun_attr::kMessageIntegrity && a.type != stun_attr::kFingerprint;
    if (again->attributes().size() != plain + 1) std::abort(); // + MESSAGE-INTEGRITY
    (void)msg->xor_address(stun_attr::kXorMappedAddress);
    (void)msg->mapped_address();
    (void)msg->error_code();
    (void)msg->unknown_required_attributes();
  }
  SeededRng rng(1);
  Agent agent(AgentConfig{.credentials = IceCredentials{"ufrag", "passwordpasswordpassword"}}, rng);
  const auto local = *SocketAddress::parse("10.0.0.1:5000");
  agent.add_local_socket(local);
  agent.set_remote_credentials(TimePoint{}, "peer", "peerpasswordpeerpassword");
  agent.handle_datagram(TimePoint{}, local, *SocketAddress::parse("10.0.0.2:6000"), input);
  while (agent.poll_transmit()) {
  }
  return 0;
}
