// rtc::Configuration's TURN servers and ICE transport policy reach the ICE agent: TURN traffic
// leaves as link transmits, the relay policy keeps host candidates out of the description, and a
// refused allocation surfaces as a candidate error (W3C icecandidateerror) and, with nothing
// left to try, a failed connection.
#include "rtc/peer_connection.hpp"

#include "ice/stun_message.hpp"
#include "ice/turn_errc.hpp"

#include <gtest/gtest.h>

namespace posthorn::rtc {
namespace {

const SocketAddress kLocal = *SocketAddress::parse("10.0.0.2:5000");
const SocketAddress kServer = *SocketAddress::parse("192.0.2.1:3478");

Configuration turn_config(ice::IceTransportPolicy policy) {
  Configuration c;
  ice::TurnServerConfig turn;
  turn.server = kServer;
  turn.username = "alice";
  turn.password = "wrong";
  c.turn_servers = {turn};
  c.ice_transport_policy = policy;
  return c;
}

Bytes challenge(const ice::StunMessage& req) {
  ice::StunMessage r(ice::StunClass::ErrorResponse, ice::StunMethod::Allocate,
                     req.transaction_id());
  r.add_error(401, "Unauthorized");
  r.add_string(ice::stun_attr::kRealm, "example.org");
  r.add_string(ice::stun_attr::kNonce, "n");
  return r.encode(std::nullopt, true);
}

struct Fixture {
  explicit Fixture(ice::IceTransportPolicy policy) : pc(turn_config(policy), rng) {
    pc.add_local_socket(kLocal);
  }
  /// Applies a local offer and returns the single TURN transmit it produced.
  ice::Transmit offer_and_take_turn() {
    (void)pc.create_data_channel({.label = "x"});
    auto offer = pc.create_offer().value();
    EXPECT_TRUE(pc.set_local_description(now, offer));
    return take_turn();
  }
  ice::Transmit take_turn() {
    std::vector<ice::Transmit> turn;
    while (auto t = pc.poll_transmit())
      if (t->turn) turn.push_back(std::move(*t));
    EXPECT_EQ(turn.size(), 1u);
    return turn.empty() ? ice::Transmit{} : turn.front();
  }
  std::vector<Event> events() {
    std::vector<Event> out;
    while (auto e = pc.poll_event())
      out.push_back(std::move(*e));
    return out;
  }

  SeededRng rng{3};
  TimePoint now = TimePoint{} + seconds(1000);
  PeerConnection pc;
};

TEST(PeerConnectionTurn, TurnTrafficLeavesOnItsLink) {
  Fixture f(ice::IceTransportPolicy::All);
  auto t = f.offer_and_take_turn();
  ASSERT_TRUE(t.turn);
  EXPECT_EQ(t.turn->transport, ice::TurnTransport::Udp);
  EXPECT_EQ(t.remote, kServer);
  EXPECT_EQ(t.local, kLocal);
  auto msg = ice::StunMessage::decode(t.payload);
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->is(ice::StunClass::Request, ice::StunMethod::Allocate));
  EXPECT_FALSE(f.pc.is_gathering_complete()) << "gathering waits for the allocation";
}

TEST(PeerConnectionTurn, RelayPolicyKeepsHostCandidatesOutOfTheDescription) {
  Fixture f(ice::IceTransportPolicy::Relay);
  (void)f.offer_and_take_turn();
  for (const auto& e : f.events()) {
    if (const auto* c = std::get_if<event::LocalCandidate>(&e)) {
      EXPECT_EQ(c->candidate.find("typ host"), std::string::npos) << c->candidate;
    }
  }
  EXPECT_EQ(f.pc.local_description()->sdp.find("typ host"), std::string::npos);
}

TEST(PeerConnectionTurn, RefusedAllocationIsACandidateErrorAndRelayOnlyThenFails) {
  Fixture f(ice::IceTransportPolicy::Relay);
  auto first = f.offer_and_take_turn();
  f.pc.handle_turn_bytes(f.now, first.turn->id,
                         challenge(*ice::StunMessage::decode(first.payload)));
  auto second = f.take_turn();
  f.pc.handle_turn_bytes(f.now, second.turn->id,
                         challenge(*ice::StunMessage::decode(second.payload)));
  auto error = f.pc.poll_candidate_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, 401);
  EXPECT_EQ(error->error, ice::TurnErrc::Unauthorized);
  EXPECT_EQ(error->url, "turn:192.0.2.1:3478?transport=udp");
  EXPECT_FALSE(f.pc.poll_candidate_error());
  (void)f.events();
  EXPECT_TRUE(f.pc.is_gathering_complete());
  EXPECT_EQ(f.pc.ice_state(), ice::IceState::Failed);
  EXPECT_EQ(f.pc.connection_state(), ConnectionState::Failed);
}

TEST(PeerConnectionTurn, DatagramsOnAnUnknownLinkAreIgnored) {
  Fixture f(ice::IceTransportPolicy::All);
  (void)f.offer_and_take_turn();
  const Bytes junk = {0x40, 0x00, 0x00, 0x01, 0xFF};
  f.pc.handle_turn_bytes(f.now, 999, junk);
  f.pc.handle_turn_closed(f.now, 999);
  EXPECT_FALSE(f.pc.poll_candidate_error());
  EXPECT_FALSE(f.pc.is_gathering_complete());
}

} // namespace
} // namespace posthorn::rtc
