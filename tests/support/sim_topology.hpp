#pragma once
// Ready-made topologies for ICE scenarios on the sim network: numbered "sites" (a public host, or
// a private LAN behind a NAT of a given type), a public STUN server, and the common two-peer
// layout. Addresses come from the documentation ranges so that nothing looks like a real network:
//
//   site n, NatType::None   host 198.51.100.n                    (TEST-NET-2, RFC 5737)
//   site n, behind a NAT    host 10.0.n.2, NAT public 203.0.113.n (TEST-NET-3)
//   STUN server             192.0.2.1:3478                        (TEST-NET-1)
//
//   sim::Network net(seed);
//   sim::TwoPeerTopology topo(net, NatType::PortRestricted, NatType::Symmetric);
//   MyPeer alice(topo.site_a.local_ip, topo.stun_address), bob(topo.site_b.local_ip, ...);
//   topo.attach_a(alice);
//   topo.attach_b(bob);
//   net.set_conditions({.latency = 25ms, .loss = 0.05});   // 50 ms RTT, 5 % loss
//   ASSERT_TRUE(net.drive_until([&] { return alice.connected() && bob.connected(); },
//                               200'000, "ice connected"));

#include "sim_nat.hpp"
#include "sim_net.hpp"
#include "sim_stun_server.hpp"

#include <functional>
#include <optional>
#include <string>

namespace posthorn::sim {

IpAddress public_host_ip(std::uint8_t n);                    // 198.51.100.n
IpAddress nat_public_ip(std::uint8_t n);                     // 203.0.113.n
IpAddress private_ip(std::uint8_t n, std::uint8_t host = 2); // 10.0.n.host
SocketAddress default_stun_address();                        // 192.0.2.1:3478

/// Whether two peers that only have host and server-reflexive candidates (no TURN) can reach
/// each other when each sits behind a NAT of the given type: everything connects except a
/// symmetric NAT facing a symmetric or port-restricted one (RFC 4787 §4.1/§5, RFC 8445 §2).
bool stun_only_connectivity_expected(NatType a, NatType b) noexcept;

struct Site {
  NatType type = NatType::None;
  std::optional<NatId> nat;
  std::uint8_t number = 0;
  IpAddress local_ip;  // what an endpoint at this site binds
  IpAddress public_ip; // what the internet sees (local_ip when there is no NAT)

  /// Attaches an endpoint at local_ip.
  HostId attach(Network& net, std::string name, Endpoint& endpoint) const;
  /// Another machine on the same LAN (10.0.n.host, behind the same NAT). Sites without a NAT
  /// have no LAN: throws std::logic_error.
  [[nodiscard]] Site neighbour(std::uint8_t host) const;
};

/// Adds site `n` (1..254) with a NAT of the classic type (or none).
Site add_site(Network& net, std::uint8_t n, NatType type);
/// Same with a hand-made NAT (mapping lifetime, hairpinning, port allocation, ...).
Site add_site(Network& net, std::uint8_t n, NatConfig config);

struct TopologyOptions {
  /// Add the public STUN server at default_stun_address().
  bool stun_server = true;
  /// Both peers on one LAN behind site A's NAT (type `a`; `b` is ignored). Host candidates
  /// connect directly; with NatType::None both are public hosts.
  bool same_lan = false;
  /// Adjusts each NAT's preset before it is built (e.g. shorter mapping_lifetime, no hairpin).
  std::function<void(NatConfig&)> adjust_nat;
};

/// Two peers (site 1 and site 2) plus a public STUN server. Build it, construct the peers with
/// site_a.local_ip / site_b.local_ip / stun_address, then attach them.
class TwoPeerTopology {
public:
  TwoPeerTopology(Network& net, NatType a, NatType b, TopologyOptions options = {});

  HostId attach_a(Endpoint& endpoint, std::string name = "a");
  HostId attach_b(Endpoint& endpoint, std::string name = "b");

  /// The STUN server (nullptr without one) to check how many requests it answered.
  [[nodiscard]] StunServer* stun_server() const noexcept { return stun_server_; }
  [[nodiscard]] bool stun_only_connectivity_expected() const noexcept;

  Network& net;
  Site site_a;
  Site site_b;
  std::optional<HostId> a; // set by attach_a
  std::optional<HostId> b; // set by attach_b
  std::optional<HostId> stun;
  SocketAddress stun_address;

private:
  StunServer* stun_server_ = nullptr;
};

} // namespace posthorn::sim
