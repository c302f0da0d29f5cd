#pragma once
// A hand-driven TURN client for unit tests: the test plays the server by decoding what the
// client transmits and answering with hand-built responses, on a virtual clock.
#include "core/overloaded.hpp"
#include "ice/stun_message.hpp"
#include "ice/turn_client.hpp"
#include "ice/turn_codec.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace posthorn::ice::test {

inline const SocketAddress kServer = *SocketAddress::parse("192.0.2.1:3478");
inline const SocketAddress kRelayed = *SocketAddress::parse("192.0.2.1:50000");
inline const SocketAddress kMapped = *SocketAddress::parse("203.0.113.5:40000");
inline const SocketAddress kPeer = *SocketAddress::parse("198.51.100.7:6000");
inline const SocketAddress kPeer2 = *SocketAddress::parse("198.51.100.8:6001");
inline constexpr std::string_view kUser = "alice";
inline constexpr std::string_view kPass = "secret";
inline constexpr std::string_view kRealm = "example.org";

inline TurnServerConfig default_config(TurnTransport transport = TurnTransport::Udp) {
  TurnServerConfig c;
  c.server = kServer;
  c.transport = transport;
  c.username = std::string(kUser);
  c.password = std::string(kPass);
  return c;
}

inline StunMethod method_of(const StunMessage& m) {
  return static_cast<StunMethod>(m.method_code());
}

class TurnHarness {
public:
  explicit TurnHarness(TurnServerConfig config = default_config())
      : client(std::move(config), rng) {}

  SeededRng rng{42};
  TurnClient client;
  TimePoint now = TimePoint{} + seconds(1000);
  Bytes key = long_term_key(kUser, kRealm, kPass);
  std::vector<TurnEvent> events;

  [[nodiscard]] bool is_tcp() const { return client.config().transport == TurnTransport::Tcp; }

  /// Every pending transmit, raw.
  std::vector<Bytes> transmits() {
    std::vector<Bytes> out;
    while (auto b = client.poll_transmit())
      out.push_back(std::move(*b));
    return out;
  }
  /// The single pending transmit, decoded as STUN (fails the test otherwise).
  StunMessage request() {
    auto all = transmits();
    EXPECT_EQ(all.size(), 1u) << "expected exactly one transmit";
    if (all.empty()) return StunMessage(StunClass::Request, StunMethod::Binding, {});
    auto msg = StunMessage::decode(all.front());
    EXPECT_TRUE(msg) << "transmit is not STUN";
    if (!msg) return StunMessage(StunClass::Request, StunMethod::Binding, {});
    return *msg;
  }

  void deliver(ByteView bytes) {
    if (is_tcp())
      client.handle_stream_bytes(now, bytes);
    else
      client.handle_datagram(now, bytes);
    drain();
  }
  void drain() {
    while (auto e = client.poll_event())
      events.push_back(std::move(*e));
  }
  void advance_to(TimePoint t) {
    now = t;
    client.handle_timeout(now);
    drain();
  }
  /// Jumps to the client's next deadline and fires it.
  void fire() {
    auto t = client.poll_timeout();
    ASSERT_TRUE(t) << "no timer armed";
    advance_to(std::max(now, *t));
  }

  template <class E> std::vector<E> events_of() const {
    std::vector<E> out;
    for (const auto& e : events)
      if (const auto* p = std::get_if<E>(&e)) out.push_back(*p);
    return out;
  }

  // --- server-side message builders ---
  static StunMessage reply(const StunMessage& req, StunClass cls) {
    return StunMessage(cls, method_of(req), req.transaction_id());
  }
  static Bytes challenge(const StunMessage& req, std::uint16_t code = 401,
                         std::string_view nonce = "nonce-1", std::string_view realm = kRealm) {
    auto r = reply(req, StunClass::ErrorResponse);
    r.add_error(code, code == 401 ? "Unauthorized" : "Stale Nonce");
    if (!realm.empty()) r.add_string(stun_attr::kRealm, realm);
    if (!nonce.empty()) r.add_string(stun_attr::kNonce, nonce);
    return r.encode(std::nullopt, true);
  }
  Bytes error(const StunMessage& req, std::uint16_t code, std::string_view reason = "") {
    auto r = reply(req, StunClass::ErrorResponse);
    r.add_error(code, reason);
    return r.encode(ByteView(key), true);
  }
  Bytes allocate_success(const StunMessage& req, std::uint32_t lifetime = 600) {
    auto r = reply(req, StunClass::SuccessResponse);
    r.add_xor_address(stun_attr::kXorRelayedAddress, kRelayed);
    r.add_xor_address(stun_attr::kXorMappedAddress, kMapped);
    r.add_u32(stun_attr::kLifetime, lifetime);
    return r.encode(ByteView(key), true);
  }
  Bytes success(const StunMessage& req, std::optional<std::uint32_t> lifetime = std::nullopt) {
    auto r = reply(req, StunClass::SuccessResponse);
    if (lifetime) r.add_u32(stun_attr::kLifetime, *lifetime);
    return r.encode(ByteView(key), true);
  }
  static Bytes data_indication(const SocketAddress& from, std::string_view data) {
    TransactionId id{};
    id[0] = 9;
    StunMessage m(StunClass::Indication, StunMethod::Data, id);
    m.add_xor_address(stun_attr::kXorPeerAddress, from);
    m.add(stun_attr::kData, as_bytes(data));
    return m.encode();
  }

  /// Runs start → 401 → authenticated Allocate → success; returns the authenticated request.
  StunMessage allocate(std::uint32_t lifetime = 600) {
    client.start(now);
    auto first = request();
    deliver(challenge(first));
    auto second = request();
    deliver(allocate_success(second, lifetime));
    EXPECT_EQ(client.state(), TurnState::Allocated);
    events.clear();
    return second;
  }
};

} // namespace posthorn::ice::test
