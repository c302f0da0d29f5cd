// Two PeerConnections (our ICE + DTLS + SCTP) behind every pair of NAT types, with a public STUN
// server and no TURN: the data channel opens and a message round-trips exactly where hole
// punching can work (sim::stun_only_connectivity_expected), and everywhere else the connection
// fails cleanly, within the ICE connect timeout, and leaves nothing running.

#include "support/sim_nat.hpp"
#include "support/sim_net.hpp"
#include "support/sim_peer.hpp"
#include "support/sim_topology.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace posthorn::sim {
namespace {

using namespace std::chrono_literals;

class PeerConnectionNatPair : public ::testing::TestWithParam<std::tuple<NatType, NatType>> {};

TEST_P(PeerConnectionNatPair, ConnectsExactlyWhenStunSufficesAndOtherwiseFailsCleanly) {
  const auto [type_a, type_b] = GetParam();
  Network net(31);
  net.record_trace(40);
  net.set_conditions({.latency = 20ms, .jitter = 5ms}); // ~40 ms RTT
  TwoPeerTopology topo(net, type_a, type_b);
  const SimPeerConfig config{.stun_servers = {topo.stun_address}};
  SimPeer alice(net, "alice", topo.site_a.local_ip, config);
  SimPeer bob(net, "bob", topo.site_b.local_ip, config);
  topo.attach_a(alice, "alice");
  topo.attach_b(bob, "bob");

  const auto chat = alice.create_channel({.label = "chat"});
  negotiate(alice, bob);
  const TimePoint start = net.now();

  if (topo.stun_only_connectivity_expected()) {
    ASSERT_TRUE(net.drive_until([&] { return alice.is_open(chat) && bob.channel_by_label("chat"); },
                                10s, "data channel open on both sides"))
        << alice.describe() << "\n"
        << bob.describe();
    EXPECT_TRUE(alice.connected() && bob.connected());

    // Bob echoes; Alice's message comes back.
    bob.on_message = [&](rtc::ChannelId id, const Bytes& data, bool binary) {
      EXPECT_TRUE(bob.send(id, data, binary)) << "echo";
    };
    ASSERT_TRUE(alice.send(chat, as_bytes("ping through the NATs"), false));
    ASSERT_TRUE(net.drive_until([&] { return alice.rx(chat).messages == 1; }, 5s, "echo received"))
        << alice.describe() << "\n"
        << bob.describe();
    EXPECT_EQ(as_string_view(alice.rx(chat).stored.at(0)), "ping through the NATs");

    // Each side talks to the other's public face; host candidates only where there is no NAT.
    const auto pa = alice.pc().selected_pair();
    const auto pb = bob.pc().selected_pair();
    ASSERT_TRUE(pa && pb);
    EXPECT_EQ(pa->remote.ip(), topo.site_b.public_ip);
    EXPECT_EQ(pb->remote.ip(), topo.site_a.public_ip);
    EXPECT_EQ(pa->remote_type == ice::CandidateType::Host, !topo.site_b.nat.has_value());
    EXPECT_EQ(pb->remote_type == ice::CandidateType::Host, !topo.site_a.nat.has_value());
    EXPECT_TRUE(alice.signaling_errors().empty() && bob.signaling_errors().empty());
    close_and_drain(net, alice, bob);
  } else {
    const Duration limit = ice::IceTiming{}.connect_timeout + 1s;
    ASSERT_TRUE(net.drive_until(
        [&] {
          return alice.state() == rtc::ConnectionState::Failed &&
                 bob.state() == rtc::ConnectionState::Failed;
        },
        limit, "both connections failed"))
        << alice.describe() << "\n"
        << bob.describe();
    EXPECT_LE(*alice.first_time(rtc::ConnectionState::Failed) - start, limit);
    EXPECT_LE(*bob.first_time(rtc::ConnectionState::Failed) - start, limit);
    EXPECT_EQ(alice.ice_states().back().value, ice::IceState::Failed);
    EXPECT_FALSE(alice.first_time(rtc::ConnectionState::Connected));
    EXPECT_FALSE(bob.first_time(rtc::ConnectionState::Connected));
    EXPECT_TRUE(alice.opened().empty() && bob.opened().empty());
    EXPECT_GT(net.stats().dropped_nat_filter, 0u) << "the NATs are what stopped it";
    // A failed connection winds down by itself. The offerer is the DTLS server: its handshake
    // timer (dtls::tuning, 30 s), armed when the answer arrived, is the last to go.
    net.run_until(start + 31s);
    EXPECT_TRUE(net.idle()) << alice.describe() << "\n" << bob.describe();
    EXPECT_TRUE(alice.signaling_errors().empty() && bob.signaling_errors().empty());
  }
}

// Non-trickle signaling (what a relay that carries one message per side does): each description
// waits for gathering to finish and carries every candidate, server-reflexive ones included.
TEST(PeerConnectionSignaling, WithoutTrickleTheDescriptionsCarryEveryCandidate) {
  Network net(33);
  net.record_trace(40);
  net.set_conditions({.latency = 20ms});
  TwoPeerTopology topo(net, NatType::Symmetric, NatType::FullCone);
  const SimPeerConfig config{
      .stun_servers = {topo.stun_address}, .signaling_delay = 300ms, .trickle = false};
  SimPeer alice(net, "alice", topo.site_a.local_ip, config);
  SimPeer bob(net, "bob", topo.site_b.local_ip, config);
  topo.attach_a(alice, "alice");
  topo.attach_b(bob, "bob");
  const auto chat = alice.create_channel({.label = "chat"});
  negotiate(alice, bob);
  ASSERT_TRUE(net.drive_until([&] { return alice.is_open(chat) && bob.channel_by_label("chat"); },
                              10s, "data channel open on both sides"))
      << alice.describe() << "\n"
      << bob.describe();
  for (const SimPeer* peer : {&alice, &bob}) {
    const auto d = peer->pc().local_description();
    ASSERT_TRUE(d);
    EXPECT_NE(d->sdp.find("typ srflx"), std::string::npos) << d->sdp;
    EXPECT_NE(d->sdp.find("a=end-of-candidates"), std::string::npos) << d->sdp;
    EXPECT_EQ(peer->descriptions_received(), 1u);
  }
  // The offer waited for Alice's STUN round trip, then 300 ms of signaling each way.
  EXPECT_GE(*bob.first_time(rtc::ConnectionState::Connecting) - kEpoch, 300ms);
  close_and_drain(net, alice, bob);
}

std::string nat_pair_name(const ::testing::TestParamInfo<PeerConnectionNatPair::ParamType>& info) {
  std::string name = std::string(to_string(std::get<0>(info.param))) + "_vs_" +
                     std::string(to_string(std::get<1>(info.param)));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllPairs, PeerConnectionNatPair,
                         ::testing::Combine(::testing::ValuesIn(kAllNatTypes),
                                            ::testing::ValuesIn(kAllNatTypes)),
                         nat_pair_name);

} // namespace
} // namespace posthorn::sim
