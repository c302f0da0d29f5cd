// Bare ICE agents (no DTLS, so no OpenSSL randomness) across NATs on the sim network: role
// conflicts resolve by tie-breaker, and a lossy NAT scenario replays bit for bit from its seed.

#include "support/sim_agent_peer.hpp"
#include "support/sim_nat.hpp"
#include "support/sim_net.hpp"
#include "support/sim_topology.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace posthorn::sim {
namespace {

using namespace std::chrono_literals;

ice::AgentConfig agent_config(ice::Role role, const TwoPeerTopology& topo) {
  return {.role = role, .stun_servers = {topo.stun_address}};
}

// RFC 8445 §7.3.1.1: two agents that both believe they control (both offered, say) discover it
// from ICE-CONTROLLING in each other's checks; the larger tie-breaker keeps the role, the other
// switches once (by 487 Role Conflict or on receipt), and the session then nominates normally.
void expect_role_conflict_resolved(ice::Role both, std::uint64_t seed) {
  Network net(seed);
  net.record_trace(30);
  net.set_conditions({.latency = 20ms, .jitter = 5ms});
  TwoPeerTopology topo(net, NatType::FullCone, NatType::PortRestricted);
  SimAgentPeer a(net, "a", topo.site_a.local_ip, agent_config(both, topo));
  SimAgentPeer b(net, "b", topo.site_b.local_ip, agent_config(both, topo));
  topo.attach_a(a, "a");
  topo.attach_b(b, "b");
  connect_agents(a, b);
  ASSERT_TRUE(
      net.drive_until([&] { return a.completed() && b.completed(); }, 10s, "both agents completed"))
      << a.describe() << "\n"
      << b.describe();

  EXPECT_NE(a.agent().role(), b.agent().role());
  EXPECT_EQ(a.role_changes().size() + b.role_changes().size(), 1u) << "exactly one agent switched\n"
                                                                   << a.describe() << "\n"
                                                                   << b.describe();
  EXPECT_GE(a.agent().stats().role_conflicts + b.agent().stats().role_conflicts, 1u);
  const auto pa = a.agent().selected_pair();
  const auto pb = b.agent().selected_pair();
  ASSERT_TRUE(pa && pb);
  EXPECT_TRUE(pa->nominated && pb->nominated);
  EXPECT_EQ(pa->remote.ip(), topo.site_b.public_ip);
  EXPECT_EQ(pb->remote.ip(), topo.site_a.public_ip);
  // Still healthy after several consent rounds in the settled roles.
  net.run_for(20s);
  EXPECT_TRUE(a.completed() && b.completed()) << a.describe() << "\n" << b.describe();
  EXPECT_EQ(a.role_changes().size() + b.role_changes().size(), 1u);
}

TEST(IceAgentScenario, BothControllingResolvesWithExactlyOneRoleSwitch) {
  for (std::uint64_t seed : {71, 72, 73}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_role_conflict_resolved(ice::Role::Controlling, seed);
  }
}

TEST(IceAgentScenario, BothControlledResolvesWithExactlyOneRoleSwitch) {
  for (std::uint64_t seed : {74, 75, 76}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    expect_role_conflict_resolved(ice::Role::Controlled, seed);
  }
}

struct Replay {
  std::uint64_t trace_hash = 0;
  std::vector<std::string> events; // both agents' logs, interleaved by virtual time
  Stats stats;
  bool connected = false;
};

// A symmetric NAT facing a full-cone one (only peer-reflexive discovery works from the symmetric
// side), with loss, jitter, reordering and duplicates: plenty of random choices to replay.
Replay lossy_ice_scenario(std::uint64_t seed) {
  Replay r;
  Network net(seed);
  net.set_conditions(
      {.latency = 30ms, .jitter = 10ms, .loss = 0.10, .reorder = 0.05, .duplicate = 0.02});
  TwoPeerTopology topo(net, NatType::Symmetric, NatType::FullCone);
  SimAgentPeer a(net, "a", topo.site_a.local_ip, agent_config(ice::Role::Controlling, topo));
  SimAgentPeer b(net, "b", topo.site_b.local_ip, agent_config(ice::Role::Controlled, topo));
  topo.attach_a(a, "a");
  topo.attach_b(b, "b");
  connect_agents(a, b);
  r.connected =
      net.drive_until([&] { return a.completed() && b.completed(); }, 20s, "both agents completed");
  net.run_for(30s); // consent rounds, randomized intervals
  r.trace_hash = net.trace_hash();
  r.stats = net.stats();
  r.events = a.log();
  r.events.insert(r.events.end(), b.log().begin(), b.log().end());
  std::stable_sort(r.events.begin(), r.events.end(),
                   [](const auto& x, const auto& y) { return std::stod(x) < std::stod(y); });
  return r;
}

TEST(IceAgentScenario, SameSeedReplaysTheSameTraceAndEventsOtherSeedsDiffer) {
  const Replay first = lossy_ice_scenario(81);
  const Replay again = lossy_ice_scenario(81);
  const Replay other = lossy_ice_scenario(82);
  ASSERT_TRUE(first.connected && other.connected);
  EXPECT_GT(first.stats.dropped_loss, 0u) << "the scenario really was lossy";
  EXPECT_GT(first.events.size(), 10u);

  EXPECT_EQ(first.trace_hash, again.trace_hash);
  EXPECT_EQ(first.events, again.events);
  EXPECT_EQ(first.stats.delivered, again.stats.delivered);
  EXPECT_EQ(first.stats.steps, again.stats.steps);

  EXPECT_NE(first.trace_hash, other.trace_hash);
  EXPECT_NE(first.events, other.events);
}

} // namespace
} // namespace posthorn::sim
