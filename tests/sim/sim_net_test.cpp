// The sim network itself: link conditions, NAT behaviours (RFC 4787), determinism and the
// drive_until livelock report. Trivial endpoints only; ICE/PeerConnection scenarios live in their
// own files and build on what is proven here.

#include "support/sim_endpoints.hpp"
#include "support/sim_nat.hpp"
#include "support/sim_net.hpp"
#include "support/sim_stun_server.hpp"
#include "support/sim_topology.hpp"

#include "ice/stun_message.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace posthorn::sim {
namespace {

using namespace std::chrono_literals;

IpAddress ip(std::string_view text) {
  return *IpAddress::parse(text);
}
SocketAddress sa(std::string_view text) {
  return *SocketAddress::parse(text);
}
Bytes numbered(std::uint32_t i, std::size_t size = 4) {
  Bytes b(std::max<std::size_t>(size, 4), 0);
  b[0] = static_cast<std::uint8_t>(i >> 24);
  b[1] = static_cast<std::uint8_t>(i >> 16);
  b[2] = static_cast<std::uint8_t>(i >> 8);
  b[3] = static_cast<std::uint8_t>(i);
  return b;
}
std::uint32_t number_of(const Bytes& b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         b[3];
}

// Two public hosts: a pinger and an echo server.
struct PublicPair {
  explicit PublicPair(std::uint64_t seed = 1) : net(seed) {
    a = net.add_host("pinger", pinger, {ip("198.51.100.1")});
    b = net.add_host("echo", echo, {ip("198.51.100.2")});
    echo.set_echo(true);
  }
  Network net;
  RecordingEndpoint pinger;
  RecordingEndpoint echo;
  HostId a{};
  HostId b{};
  SocketAddress from = sa("198.51.100.1:1000");
  SocketAddress to = sa("198.51.100.2:2000");
};

// --- clock and link conditions -----------------------------------------------------------------

TEST(SimNet, LatencyIsAppliedExactlyEachWay) {
  PublicPair p;
  p.net.set_conditions({.latency = 25ms});
  EXPECT_EQ(p.net.now(), kEpoch);
  p.pinger.send(p.from, p.to, numbered(1));
  ASSERT_TRUE(p.net.drive_until([&] { return !p.pinger.received().empty(); }, 10, "echo"));
  ASSERT_EQ(p.echo.received().size(), 1u);
  EXPECT_EQ(p.echo.received()[0].at, kEpoch + 25ms);
  EXPECT_EQ(p.echo.received()[0].from, p.from);
  EXPECT_EQ(p.echo.received()[0].local, p.to);
  EXPECT_EQ(p.pinger.received()[0].at, kEpoch + 50ms);
  EXPECT_EQ(p.pinger.received()[0].from, p.to);
  EXPECT_EQ(p.net.stats().delivered, 2u);
  EXPECT_TRUE(p.net.idle());
}

TEST(SimNet, RunForAdvancesTheClockEvenWhenIdle) {
  PublicPair p;
  p.net.run_for(3s);
  EXPECT_EQ(p.net.now(), kEpoch + 3s);
  p.pinger.send_at(kEpoch + 1s, p.from, p.to, numbered(1)); // in the past: sent at once
  p.net.run_for(1ms);
  ASSERT_EQ(p.echo.received().size(), 1u);
  EXPECT_EQ(p.echo.received()[0].at, kEpoch + 3s);
}

TEST(SimNet, LossRateMatchesOverTenThousandPackets) {
  PublicPair p(42);
  p.echo.set_echo(false);
  p.net.set_conditions({.loss = 0.1});
  for (std::uint32_t i = 0; i < 10'000; ++i)
    p.pinger.send(p.from, p.to, numbered(i));
  p.net.run_for(1s);
  const auto got = p.echo.received().size();
  EXPECT_GT(got, 8'800u);
  EXPECT_LT(got, 9'200u);
  EXPECT_EQ(p.net.stats().dropped_loss + got, 10'000u);
  EXPECT_EQ(p.net.stats().sent, 10'000u);
}

TEST(SimNet, OversizedDatagramsAreDroppedAgainstTheIpMtu) {
  PublicPair p;
  p.echo.set_echo(false);
  p.net.set_conditions({.mtu = 1280});
  p.pinger.send(p.from, p.to, Bytes(1280 - 28));     // fits with IPv4 + UDP headers
  p.pinger.send(p.from, p.to, Bytes(1280 - 28 + 1)); // one byte too many
  p.net.run_for(1s);
  ASSERT_EQ(p.echo.received().size(), 1u);
  EXPECT_EQ(p.echo.received()[0].payload.size(), 1252u);
  EXPECT_EQ(p.net.stats().dropped_mtu, 1u);
}

TEST(SimNet, Ipv6HeadersCountAgainstTheMtuToo) {
  Network net(1);
  RecordingEndpoint a, b;
  net.add_host("a", a, {ip("2001:db8::1")});
  net.add_host("b", b, {ip("2001:db8::2")});
  net.set_conditions({.mtu = 1280});
  a.send(sa("[2001:db8::1]:1"), sa("[2001:db8::2]:1"), Bytes(1280 - 48));
  a.send(sa("[2001:db8::1]:1"), sa("[2001:db8::2]:1"), Bytes(1280 - 48 + 1));
  net.run_for(1s);
  ASSERT_EQ(b.received().size(), 1u);
  EXPECT_EQ(net.stats().dropped_mtu, 1u);
}

TEST(SimNet, JitterDelaysWithoutReorderingAFlow) {
  PublicPair p(3);
  p.echo.set_echo(false);
  p.net.set_conditions({.latency = 10ms, .jitter = 30ms});
  for (std::uint32_t i = 0; i < 500; ++i)
    p.pinger.send_at(kEpoch + i * 1ms, p.from, p.to, numbered(i));
  p.net.run_for(2s);
  ASSERT_EQ(p.echo.received().size(), 500u);
  std::set<Duration> delays;
  for (std::uint32_t i = 0; i < 500; ++i) {
    const auto& r = p.echo.received()[i];
    EXPECT_EQ(number_of(r.payload), i);
    const Duration delay = r.at - (kEpoch + i * 1ms);
    EXPECT_GE(delay, 10ms);
    delays.insert(delay);
  }
  EXPECT_GT(delays.size(), 100u) << "jitter should vary the delay";
  EXPECT_EQ(p.net.stats().reordered, 0u);
}

TEST(SimNet, ReorderLetsLaterDatagramsOvertake) {
  PublicPair p(4);
  p.echo.set_echo(false);
  p.net.set_conditions({.latency = 5ms, .reorder = 0.2, .reorder_delay = 7ms});
  for (std::uint32_t i = 0; i < 1000; ++i)
    p.pinger.send_at(kEpoch + i * 1ms, p.from, p.to, numbered(i));
  p.net.run_for(2s);
  ASSERT_EQ(p.echo.received().size(), 1000u);
  std::size_t inversions = 0;
  for (std::size_t i = 1; i < 1000; ++i) {
    if (number_of(p.echo.received()[i].payload) < number_of(p.echo.received()[i - 1].payload))
      ++inversions;
  }
  EXPECT_GT(p.net.stats().reordered, 150u);
  EXPECT_LT(p.net.stats().reordered, 250u);
  EXPECT_GT(inversions, 100u);
}

TEST(SimNet, DuplicatesArriveTwice) {
  PublicPair p(5);
  p.echo.set_echo(false);
  p.net.set_conditions({.latency = 1ms, .duplicate = 0.5});
  for (std::uint32_t i = 0; i < 1000; ++i)
    p.pinger.send(p.from, p.to, numbered(i));
  p.net.run_for(1s);
  EXPECT_EQ(p.echo.received().size(), 1000u + p.net.stats().duplicated);
  EXPECT_GT(p.net.stats().duplicated, 420u);
  EXPECT_LT(p.net.stats().duplicated, 580u);
}

TEST(SimNet, RateLimitSerializesAndTailDrops) {
  PublicPair p;
  p.echo.set_echo(false);
  // 100 kB/s: a 1000-byte datagram takes 10 ms; the queue holds 3000 bytes.
  p.net.set_conditions({.latency = 20ms, .rate_bytes_per_s = 100'000.0, .queue_bytes = 3000});
  for (std::uint32_t i = 0; i < 10; ++i)
    p.pinger.send(p.from, p.to, numbered(i, 1000));
  p.net.run_for(1s);
  // Datagram k leaves after (k + 1) × 10 ms; the fifth finds 4 × 1000 bytes > 3000 queued.
  ASSERT_EQ(p.echo.received().size(), 4u);
  for (std::size_t k = 0; k < 4; ++k)
    EXPECT_EQ(p.echo.received()[k].at, kEpoch + 20ms + static_cast<int>(k + 1) * 10ms);
  EXPECT_EQ(p.net.stats().dropped_queue, 6u);
}

TEST(SimNet, PerPairConditionsOverrideTheDefault) {
  Network net(1);
  RecordingEndpoint a, b, c;
  auto ha = net.add_host("a", a, {ip("198.51.100.1")});
  auto hb = net.add_host("b", b, {ip("198.51.100.2")});
  net.add_host("c", c, {ip("198.51.100.3")});
  net.set_conditions({.latency = 10ms});
  net.set_directed_conditions(ha, hb, {.latency = 40ms});
  a.send(sa("198.51.100.1:1"), sa("198.51.100.2:1"), numbered(1));
  a.send(sa("198.51.100.1:1"), sa("198.51.100.3:1"), numbered(2));
  b.send(sa("198.51.100.2:1"), sa("198.51.100.1:1"), numbered(3));
  net.run_for(1s);
  EXPECT_EQ(b.received().at(0).at, kEpoch + 40ms);
  EXPECT_EQ(c.received().at(0).at, kEpoch + 10ms);
  EXPECT_EQ(a.received().at(0).at, kEpoch + 10ms); // the reverse direction keeps the default
}

TEST(SimNet, PartitionDropsTrafficIncludingInFlightAndHeals) {
  PublicPair p;
  p.net.set_conditions({.latency = 50ms});
  p.pinger.send(p.from, p.to, numbered(1));
  p.net.run_for(20ms); // in flight
  p.net.partition(p.a, p.b, true);
  p.pinger.send(p.from, p.to, numbered(2));
  p.net.run_for(1s);
  EXPECT_TRUE(p.echo.received().empty());
  EXPECT_EQ(p.net.stats().dropped_partition, 2u);

  p.net.partition(p.b, p.a, false); // either order names the pair
  p.pinger.send(p.from, p.to, numbered(3));
  p.net.run_for(1s);
  ASSERT_EQ(p.echo.received().size(), 1u);
  EXPECT_EQ(p.pinger.received().size(), 1u);

  p.net.isolate(p.b, true);
  p.pinger.send(p.from, p.to, numbered(4));
  p.net.run_for(1s);
  EXPECT_EQ(p.echo.received().size(), 1u);
  p.net.isolate(p.b, false);
  p.pinger.send(p.from, p.to, numbered(5));
  p.net.run_for(1s);
  EXPECT_EQ(p.echo.received().size(), 2u);
}

TEST(SimNet, ScheduledActionsRunAtTheirVirtualTime) {
  PublicPair p;
  p.echo.set_echo(false);
  std::vector<TimePoint> ran;
  p.net.schedule_in(2s, [&] { ran.push_back(p.net.now()); });
  p.net.schedule(kEpoch + 1s, [&] {
    ran.push_back(p.net.now());
    p.pinger.send(p.from, p.to, numbered(1)); // leaves in the same step
    p.net.partition(p.a, p.b, true);          // ... and is cut
  });
  p.net.schedule(kEpoch + 1500ms, [&] { p.net.partition(p.a, p.b, false); });
  ASSERT_TRUE(p.net.drive_until([&] { return ran.size() == 2; }, 10, "both actions"));
  EXPECT_EQ(ran, (std::vector<TimePoint>{kEpoch + 1s, kEpoch + 2s}));
  EXPECT_EQ(p.net.stats().dropped_partition, 1u);
  EXPECT_TRUE(p.net.idle());
}

TEST(SimNet, PacketFilterDropsChosenDatagrams) {
  PublicPair p;
  p.echo.set_echo(false);
  p.net.set_packet_filter([](TimePoint, HostId, const Datagram& d) {
    return number_of(d.payload) % 2 == 0 ? Verdict::Drop : Verdict::Pass;
  });
  for (std::uint32_t i = 0; i < 10; ++i)
    p.pinger.send(p.from, p.to, numbered(i));
  p.net.run_for(1s);
  EXPECT_EQ(p.echo.received().size(), 5u);
  EXPECT_EQ(p.net.stats().dropped_filter, 5u);
}

TEST(SimNet, HostWithSeveralAddressesReceivesAndSendsOnEach) {
  Network net(1);
  RecordingEndpoint multi, peer;
  net.add_host("multi", multi, {ip("198.51.100.1"), ip("198.51.100.11")});
  net.add_host("peer", peer, {ip("198.51.100.2")});
  peer.send(sa("198.51.100.2:5"), sa("198.51.100.1:7"), numbered(1));
  peer.send(sa("198.51.100.2:5"), sa("198.51.100.11:9"), numbered(2));
  multi.send(sa("198.51.100.11:9"), sa("198.51.100.2:5"), numbered(3));
  multi.send(sa("198.51.100.99:9"), sa("198.51.100.2:5"), numbered(4)); // not its address
  net.run_for(1s);
  ASSERT_EQ(multi.received().size(), 2u);
  EXPECT_EQ(multi.received()[0].local, sa("198.51.100.1:7"));
  EXPECT_EQ(multi.received()[1].local, sa("198.51.100.11:9"));
  ASSERT_EQ(peer.received().size(), 1u);
  EXPECT_EQ(peer.received()[0].from, sa("198.51.100.11:9"));
  EXPECT_EQ(net.stats().dropped_bad_source, 1u);
}

TEST(SimNet, UnknownDestinationsAndRemovedHostsAreNoRoute) {
  PublicPair p;
  p.echo.set_echo(false);
  p.pinger.send(p.from, sa("198.51.100.77:1"), numbered(1));
  p.net.run_for(1s);
  p.net.remove_host(p.b);
  p.pinger.send(p.from, p.to, numbered(2));
  p.net.run_for(1s);
  EXPECT_EQ(p.net.stats().dropped_no_route, 2u);
  EXPECT_THROW(p.net.add_host("dup", p.echo, {ip("198.51.100.1")}), std::invalid_argument);
}

// --- NATs (RFC 4787) ---------------------------------------------------------------------------

// A client behind a NAT and two public servers; s1 listens on two ports.
struct NatFixture {
  explicit NatFixture(NatConfig config) : net(9) {
    nat = net.add_nat(config, ip("203.0.113.1"));
    client_id = net.add_host("client", client, {ip("10.0.0.2")}, nat);
    net.add_host("s1", s1, {ip("198.51.100.1")});
    net.add_host("s2", s2, {ip("198.51.100.2")});
  }
  /// The client sends to `to`; returns the source address the receiver saw.
  SocketAddress outbound(SocketAddress to, RecordingEndpoint& receiver) {
    client.send(local, to, numbered(0));
    net.run_for(100ms);
    return receiver.received().back().from;
  }
  /// `sender` sends to `to`; returns whether the client got it.
  bool inbound(RecordingEndpoint& sender, SocketAddress from, SocketAddress to) {
    auto before = client.received().size();
    sender.send(from, to, numbered(1));
    net.run_for(100ms);
    return client.received().size() == before + 1;
  }
  Network net;
  NatId nat{};
  HostId client_id{};
  RecordingEndpoint client, s1, s2;
  SocketAddress local = sa("10.0.0.2:5000");
  SocketAddress s1a = sa("198.51.100.1:3478"), s1b = sa("198.51.100.1:3479");
  SocketAddress s2a = sa("198.51.100.2:3478");
};

TEST(SimNat, NothingGetsInBeforeAnOutboundPacket) {
  NatFixture f(NatConfig::of(NatType::FullCone));
  EXPECT_FALSE(f.inbound(f.s1, f.s1a, sa("203.0.113.1:5000")));
  EXPECT_EQ(f.net.stats().dropped_nat_no_mapping, 1u);
}

TEST(SimNat, FullConeAcceptsAnyoneOnceMapped) {
  NatFixture f(NatConfig::of(NatType::FullCone));
  const SocketAddress mapped = f.outbound(f.s1a, f.s1);
  EXPECT_EQ(mapped.ip(), ip("203.0.113.1"));
  EXPECT_EQ(f.outbound(f.s2a, f.s2), mapped) << "endpoint-independent mapping";
  EXPECT_TRUE(f.inbound(f.s1, f.s1b, mapped));
  RecordingEndpoint& stranger = f.s2;
  EXPECT_TRUE(f.inbound(stranger, sa("198.51.100.2:9999"), mapped));
  EXPECT_EQ(f.client.received().back().local, f.local) << "rewritten back to the private address";
}

TEST(SimNat, AddressRestrictedAcceptsAnyPortOfAContactedIp) {
  NatFixture f(NatConfig::of(NatType::AddressRestricted));
  const SocketAddress mapped = f.outbound(f.s1a, f.s1);
  EXPECT_TRUE(f.inbound(f.s1, f.s1b, mapped));
  EXPECT_FALSE(f.inbound(f.s2, f.s2a, mapped));
  EXPECT_EQ(f.net.stats().dropped_nat_filter, 1u);
}

TEST(SimNat, PortRestrictedAcceptsOnlyTheExactAddressContacted) {
  NatFixture f(NatConfig::of(NatType::PortRestricted));
  const SocketAddress mapped = f.outbound(f.s1a, f.s1);
  EXPECT_EQ(f.outbound(f.s2a, f.s2), mapped) << "still endpoint-independent mapping";
  EXPECT_TRUE(f.inbound(f.s1, f.s1a, mapped));
  EXPECT_FALSE(f.inbound(f.s1, f.s1b, mapped));
  EXPECT_TRUE(f.inbound(f.s2, f.s2a, mapped));
  EXPECT_FALSE(f.inbound(f.s2, sa("198.51.100.2:1"), mapped));
}

TEST(SimNat, SymmetricAllocatesAPortPerDestination) {
  NatFixture f(NatConfig::of(NatType::Symmetric));
  const SocketAddress to_s1a = f.outbound(f.s1a, f.s1);
  const SocketAddress to_s1b = f.outbound(f.s1b, f.s1);
  const SocketAddress to_s2 = f.outbound(f.s2a, f.s2);
  EXPECT_NE(to_s1a.port(), to_s1b.port());
  EXPECT_NE(to_s1a.port(), to_s2.port());
  EXPECT_EQ(f.outbound(f.s1a, f.s1), to_s1a) << "the mapping is reused for the same destination";
  EXPECT_EQ(f.net.nat(f.nat).live_mappings(f.net.now()), 3u);
  // What s1 learned (a "server-reflexive" address) is useless to s2.
  EXPECT_FALSE(f.inbound(f.s2, f.s2a, to_s1a));
  EXPECT_TRUE(f.inbound(f.s2, f.s2a, to_s2));
}

TEST(SimNat, MappingsExpireWhenIdleAndOutboundTrafficRefreshesThem) {
  NatConfig config = NatConfig::of(NatType::PortRestricted);
  config.mapping_lifetime = 30s;
  config.port_allocation = PortAllocation::Sequential;
  NatFixture f(config);
  const SocketAddress mapped = f.outbound(f.s1a, f.s1);
  EXPECT_EQ(mapped.port(), config.port_min);
  // Keepalives every 20 s hold the mapping for a minute...
  for (int i = 0; i < 3; ++i) {
    f.net.run_for(20s);
    EXPECT_EQ(f.outbound(f.s1a, f.s1), mapped);
  }
  EXPECT_TRUE(f.inbound(f.s1, f.s1a, mapped));
  // ... inbound traffic alone does not (inbound_refresh is off) ...
  f.net.run_for(29s);
  EXPECT_TRUE(f.inbound(f.s1, f.s1a, mapped));
  f.net.run_for(1s);
  EXPECT_FALSE(f.inbound(f.s1, f.s1a, mapped));
  EXPECT_EQ(f.net.stats().dropped_nat_no_mapping, 1u);
  EXPECT_EQ(f.net.nat(f.nat).live_mappings(f.net.now()), 0u);
  // ... and the next packet gets a fresh port.
  EXPECT_NE(f.outbound(f.s1a, f.s1), mapped);
}

TEST(SimNat, FlushForgetsMappingsLikeARebootedRouter) {
  NatFixture f(NatConfig::of(NatType::FullCone));
  const SocketAddress mapped = f.outbound(f.s1a, f.s1);
  f.net.nat(f.nat).flush();
  EXPECT_FALSE(f.inbound(f.s1, f.s1a, mapped));
  EXPECT_FALSE(f.net.nat(f.nat).mapping_for(f.net.now(), f.local, f.s1a).has_value());
}

TEST(SimNat, PreservePortAllocationKeepsTheInternalPortWhenFree) {
  NatConfig config = NatConfig::of(NatType::Symmetric);
  config.port_allocation = PortAllocation::Preserve;
  NatFixture f(config);
  EXPECT_EQ(f.outbound(f.s1a, f.s1).port(), 5000);
  EXPECT_NE(f.outbound(f.s2a, f.s2).port(), 5000) << "taken by the first mapping";
}

TEST(SimNat, HairpinningLoopsBackWithTheMappedSourceOrDrops) {
  for (bool hairpin : {true, false}) {
    SCOPED_TRACE(hairpin ? "hairpinning" : "no hairpinning");
    NatConfig config = NatConfig::of(NatType::FullCone);
    config.hairpinning = hairpin;
    NatFixture f(config);
    RecordingEndpoint neighbour;
    f.net.add_host("neighbour", neighbour, {ip("10.0.0.3")}, f.nat);
    const SocketAddress client_mapped = f.outbound(f.s1a, f.s1);
    neighbour.send(sa("10.0.0.3:6000"), sa("10.0.0.2:5000"), numbered(1)); // LAN: direct
    neighbour.send(sa("10.0.0.3:6000"), client_mapped, numbered(2));       // via the public IP
    f.net.run_for(100ms);
    ASSERT_GE(f.client.received().size(), 1u);
    EXPECT_EQ(f.client.received()[0].from, sa("10.0.0.3:6000"));
    if (hairpin) {
      ASSERT_EQ(f.client.received().size(), 2u);
      EXPECT_EQ(f.client.received()[1].from.ip(), ip("203.0.113.1")); // RFC 4787 REQ-9
      EXPECT_NE(f.client.received()[1].from.port(), 6000);
    } else {
      EXPECT_EQ(f.client.received().size(), 1u);
      EXPECT_EQ(f.net.stats().dropped_nat_hairpin, 1u);
    }
  }
}

TEST(SimNat, DualStackHostIsNattedOnV4AndPublicOnV6) {
  Network net(1);
  auto nat = net.add_nat(NatConfig::of(NatType::PortRestricted), ip("203.0.113.1"));
  RecordingEndpoint dual, v4, v6;
  auto h = net.add_host("dual", dual, {ip("10.0.0.2")}, nat);
  net.add_address(h, ip("2001:db8::2"));
  net.add_host("v4", v4, {ip("198.51.100.1")});
  net.add_host("v6", v6, {ip("2001:db8::1")});
  dual.send(sa("10.0.0.2:7"), sa("198.51.100.1:7"), numbered(1));
  dual.send(sa("[2001:db8::2]:7"), sa("[2001:db8::1]:7"), numbered(2));
  dual.send(sa("10.0.0.2:7"), sa("[2001:db8::1]:7"), numbered(3)); // no v6 route from there
  net.run_for(1s);
  EXPECT_EQ(v4.received().at(0).from.ip(), ip("203.0.113.1"));
  EXPECT_EQ(v6.received().at(0).from, sa("[2001:db8::2]:7"));
  EXPECT_EQ(v6.received().size(), 1u);
  EXPECT_EQ(net.stats().dropped_no_route, 1u);
}

TEST(SimNat, ResolveFollowsMappingsWithoutChangingThem) {
  NatFixture f(NatConfig::of(NatType::PortRestricted));
  const SocketAddress mapped = f.outbound(f.s1a, f.s1);
  EXPECT_EQ(f.net.resolve(f.s1a, mapped), f.client_id);
  EXPECT_EQ(f.net.resolve(f.s2a, mapped), std::nullopt);                // filtered
  EXPECT_EQ(f.net.resolve(f.s2a, sa("198.51.100.77:1")), std::nullopt); // nobody
  EXPECT_EQ(f.net.stats().dropped(), 0u);
}

TEST(SimNat, NestedNatsTranslateTwice) {
  Network net(1);
  auto cgnat = net.add_nat(NatConfig::of(NatType::FullCone), ip("203.0.113.9"));
  auto home = net.add_nat(NatConfig::of(NatType::FullCone), ip("100.64.0.2"), cgnat);
  RecordingEndpoint client, server;
  net.add_host("client", client, {ip("192.168.1.2")}, home);
  net.add_host("server", server, {ip("198.51.100.1")});
  server.set_echo(true);
  client.send(sa("192.168.1.2:4000"), sa("198.51.100.1:80"), numbered(1));
  net.run_for(1s);
  ASSERT_EQ(server.received().size(), 1u);
  EXPECT_EQ(server.received()[0].from.ip(), ip("203.0.113.9"));
  ASSERT_EQ(client.received().size(), 1u);
  EXPECT_EQ(client.received()[0].local, sa("192.168.1.2:4000"));
}

TEST(SimNat, SamePrivateAddressInTwoRealmsDoesNotCollide) {
  Network net(1);
  auto n1 = net.add_nat(NatConfig::of(NatType::FullCone), ip("203.0.113.1"));
  auto n2 = net.add_nat(NatConfig::of(NatType::FullCone), ip("203.0.113.2"));
  RecordingEndpoint x, y;
  net.add_host("x", x, {ip("10.0.0.2")}, n1);
  net.add_host("y", y, {ip("10.0.0.2")}, n2);
  x.send(sa("10.0.0.2:1"), sa("10.0.0.2:1"), numbered(1)); // its own address: stays inside
  net.run_for(1s);
  EXPECT_EQ(x.received().size(), 1u);
  EXPECT_TRUE(y.received().empty());
}

// --- STUN server and topologies ----------------------------------------------------------------

Bytes binding_request(std::uint8_t id_byte) {
  ice::TransactionId id{};
  id.fill(id_byte);
  return ice::StunMessage(ice::StunClass::Request, ice::StunMethod::Binding, id)
      .encode(std::nullopt, true);
}

TEST(SimStunServer, AnswersWithTheNatMappedAddress) {
  Network net(11);
  TwoPeerTopology topo(net, NatType::PortRestricted, NatType::None);
  RecordingEndpoint client;
  topo.attach_a(client);
  const SocketAddress local{topo.site_a.local_ip, 5000};
  client.send(local, topo.stun_address, binding_request(7));
  client.send(local, topo.stun_address, to_bytes("not stun"));
  net.run_for(1s);
  ASSERT_EQ(client.received().size(), 1u);
  const Bytes& raw = client.received()[0].payload;
  auto response = ice::StunMessage::decode(raw);
  ASSERT_TRUE(response) << response.error().message();
  EXPECT_TRUE(response->is(ice::StunClass::SuccessResponse, ice::StunMethod::Binding));
  EXPECT_TRUE(response->has_fingerprint());
  auto mapped = net.nat(*topo.site_a.nat).mapping_for(net.now(), local, topo.stun_address);
  ASSERT_TRUE(mapped);
  EXPECT_EQ(response->xor_address(ice::stun_attr::kXorMappedAddress), mapped);
  // Independent of the codec: RFC 8489 §14.2 XOR-MAPPED-ADDRESS right after the header.
  ASSERT_GE(raw.size(), 32u);
  EXPECT_EQ(raw[20], 0x00);
  EXPECT_EQ(raw[21], 0x20);
  EXPECT_EQ(raw[25], 0x01); // IPv4
  EXPECT_EQ(((raw[26] << 8) | raw[27]) ^ 0x2112, mapped->port());
  EXPECT_EQ(raw[28] ^ 0x21, 203);
  EXPECT_EQ(raw[29] ^ 0x12, 0);
  EXPECT_EQ(raw[30] ^ 0xA4, 113);
  EXPECT_EQ(raw[31] ^ 0x42, 1);
  EXPECT_EQ(topo.stun_server()->requests_answered(), 1u);
  EXPECT_EQ(topo.stun_server()->ignored(), 1u);
}

TEST(SimTopology, SitesUseTheDocumentedAddressPlan) {
  Network net(1);
  TwoPeerTopology topo(net, NatType::Symmetric, NatType::None);
  EXPECT_EQ(topo.site_a.local_ip, ip("10.0.1.2"));
  EXPECT_EQ(topo.site_a.public_ip, ip("203.0.113.1"));
  EXPECT_EQ(topo.site_b.local_ip, ip("198.51.100.2"));
  EXPECT_EQ(topo.site_b.public_ip, ip("198.51.100.2"));
  EXPECT_FALSE(topo.site_b.nat.has_value());
  EXPECT_EQ(topo.stun_address, sa("192.0.2.1:3478"));
  EXPECT_TRUE(topo.stun_only_connectivity_expected()); // a public peer is always reachable
  EXPECT_FALSE(stun_only_connectivity_expected(NatType::Symmetric, NatType::PortRestricted));
  EXPECT_TRUE(stun_only_connectivity_expected(NatType::Symmetric, NatType::AddressRestricted));

  Network net2(1);
  TwoPeerTopology lan(net2, NatType::Symmetric, NatType::Symmetric, {.same_lan = true});
  EXPECT_EQ(lan.site_b.local_ip, ip("10.0.1.3"));
  EXPECT_EQ(lan.site_a.nat, lan.site_b.nat);
  EXPECT_TRUE(lan.stun_only_connectivity_expected());
}

// A crude hole puncher: learns its server-reflexive address from the STUN server, then (once
// told the peer's) sends a punch every 50 ms to the peer and to every address a punch came from
// (what ICE's peer-reflexive candidates do), for two seconds.
class Puncher final : public Endpoint {
public:
  Puncher(SocketAddress local, SocketAddress stun) : local_(local), stun_(stun) {
    outbox_.push_back({local_, stun_, binding_request(1)});
  }
  void start(TimePoint now, SocketAddress peer) {
    targets_.insert(peer);
    next_ = now;
    rounds_ = 40;
  }
  std::optional<SocketAddress> srflx;
  std::set<SocketAddress> heard_from;

  void handle_datagram(TimePoint, const SocketAddress&, const SocketAddress& from,
                       ByteView data) override {
    if (from == stun_) {
      if (auto m = ice::StunMessage::decode(data))
        srflx = m->xor_address(ice::stun_attr::kXorMappedAddress);
      return;
    }
    heard_from.insert(from);
    targets_.insert(from);
  }
  void handle_timeout(TimePoint now) override {
    for (const auto& t : targets_)
      outbox_.push_back({local_, t, to_bytes("punch")});
    next_ = --rounds_ > 0 ? std::optional{now + 50ms} : std::nullopt;
  }
  std::optional<Datagram> poll_transmit() override {
    if (outbox_.empty()) return std::nullopt;
    Datagram d = std::move(outbox_.front());
    outbox_.pop_front();
    return d;
  }
  std::optional<TimePoint> poll_timeout() override { return next_; }

private:
  SocketAddress local_, stun_;
  std::deque<Datagram> outbox_;
  std::set<SocketAddress> targets_;
  std::optional<TimePoint> next_;
  int rounds_ = 0;
};

class NatPairTest : public ::testing::TestWithParam<std::tuple<NatType, NatType>> {};

TEST_P(NatPairTest, HolePunchingWorksExactlyWhenExpected) {
  auto [type_a, type_b] = GetParam();
  Network net(21);
  net.set_conditions({.latency = 20ms, .jitter = 5ms});
  TwoPeerTopology topo(net, type_a, type_b);
  Puncher a({topo.site_a.local_ip, 5000}, topo.stun_address);
  Puncher b({topo.site_b.local_ip, 5000}, topo.stun_address);
  topo.attach_a(a);
  topo.attach_b(b);
  ASSERT_TRUE(net.drive_until([&] { return a.srflx && b.srflx; }, 1000, "srflx gathered"));
  EXPECT_EQ(a.srflx->ip(), topo.site_a.public_ip);
  a.start(net.now(), *b.srflx); // "signaling"
  b.start(net.now(), *a.srflx);
  net.run_for(3s);
  EXPECT_TRUE(net.idle());
  const bool connected = !a.heard_from.empty() && !b.heard_from.empty();
  EXPECT_EQ(connected, topo.stun_only_connectivity_expected())
      << "a heard " << a.heard_from.size() << ", b heard " << b.heard_from.size();
}

std::string nat_pair_name(const ::testing::TestParamInfo<NatPairTest::ParamType>& info) {
  std::string name = std::string(to_string(std::get<0>(info.param))) + "_vs_" +
                     std::string(to_string(std::get<1>(info.param)));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllPairs, NatPairTest,
                         ::testing::Combine(::testing::ValuesIn(kAllNatTypes),
                                            ::testing::ValuesIn(kAllNatTypes)),
                         nat_pair_name);

// --- determinism and drive_until ---------------------------------------------------------------

std::uint64_t lossy_nat_scenario(std::uint64_t seed) {
  Network net(seed);
  net.set_conditions(
      {.latency = 20ms, .jitter = 10ms, .loss = 0.05, .reorder = 0.05, .duplicate = 0.02});
  TwoPeerTopology topo(net, NatType::Symmetric, NatType::None);
  RecordingEndpoint a, b;
  b.set_echo(true);
  topo.attach_a(a);
  topo.attach_b(b);
  for (std::uint32_t i = 0; i < 300; ++i) {
    a.send_at(kEpoch + i * 3ms, {topo.site_a.local_ip, static_cast<std::uint16_t>(4000 + i % 7)},
              {topo.site_b.public_ip, 9}, numbered(i, 100 + i));
  }
  net.run_for(5s);
  return net.trace_hash();
}

TEST(SimNet, SameSeedReplaysBitForBitAndOtherSeedsDiffer) {
  EXPECT_EQ(lossy_nat_scenario(1), lossy_nat_scenario(1));
  EXPECT_NE(lossy_nat_scenario(1), lossy_nat_scenario(2));
}

// Asks for a deadline that is always already due: a livelock at one instant.
class Spinner final : public Endpoint {
public:
  void handle_datagram(TimePoint, const SocketAddress&, const SocketAddress&, ByteView) override {}
  void handle_timeout(TimePoint now) override { last_ = now; }
  std::optional<Datagram> poll_transmit() override { return std::nullopt; }
  std::optional<TimePoint> poll_timeout() override { return last_; }

private:
  TimePoint last_ = kEpoch;
};

TEST(SimNet, DriveUntilNamesTheLabelOnLivelock) {
  Network net(1);
  Spinner spinner;
  net.add_host("spinner", spinner, {ip("198.51.100.1")});
  EXPECT_NONFATAL_FAILURE(net.drive_until([] { return false; }, 100, "never-true-label"),
                          "never-true-label");
  EXPECT_EQ(net.now(), kEpoch) << "a past deadline never moves the clock back or forward";
  EXPECT_EQ(net.stats().steps, 100u);
}

TEST(SimNet, DriveUntilReportsAnIdleNetwork) {
  PublicPair p;
  EXPECT_NONFATAL_FAILURE(p.net.drive_until([] { return false; }, 100, "idle-label"), "idle");
}

TEST(SimNet, DriveUntilWithATimeLimit) {
  PublicPair p;
  p.net.set_conditions({.latency = 10ms});
  for (std::uint32_t i = 0; i < 100; ++i)
    p.pinger.send_at(kEpoch + i * 100ms, p.from, p.to, numbered(i));
  EXPECT_TRUE(p.net.drive_until([&] { return p.pinger.received().size() == 3; }, 1s, "three"));
  EXPECT_EQ(p.net.now(), kEpoch + 220ms);
  EXPECT_NONFATAL_FAILURE(
      p.net.drive_until([&] { return p.pinger.received().size() == 1000; }, 2s, "time-label"),
      "time-label");
  EXPECT_EQ(p.net.now(), kEpoch + 2220ms);
}

} // namespace
} // namespace posthorn::sim
