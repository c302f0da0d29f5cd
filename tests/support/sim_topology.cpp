#include "sim_topology.hpp"

#include <stdexcept>

namespace posthorn::sim {

IpAddress public_host_ip(std::uint8_t n) {
  return IpAddress::v4({198, 51, 100, n});
}

IpAddress nat_public_ip(std::uint8_t n) {
  return IpAddress::v4({203, 0, 113, n});
}

IpAddress private_ip(std::uint8_t n, std::uint8_t host) {
  return IpAddress::v4({10, 0, n, host});
}

SocketAddress default_stun_address() {
  return {IpAddress::v4({192, 0, 2, 1}), 3478};
}

bool stun_only_connectivity_expected(NatType a, NatType b) noexcept {
  // A symmetric NAT shows the peer a port it never told anyone (a new mapping per destination).
  // The peer's NAT then only lets that in if it filters by address at most (or not at all);
  // a port-restricted or symmetric peer NAT drops it, and neither side can ever be reached.
  auto hard = [](NatType t) { return t == NatType::PortRestricted || t == NatType::Symmetric; };
  if (a == NatType::Symmetric && hard(b)) return false;
  if (b == NatType::Symmetric && hard(a)) return false;
  return true;
}

HostId Site::attach(Network& net, std::string name, Endpoint& endpoint) const {
  return net.add_host(std::move(name), endpoint, {local_ip}, nat);
}

Site Site::neighbour(std::uint8_t host) const {
  if (!nat) throw std::logic_error("sim::Site::neighbour: a site without a NAT has no LAN");
  Site s = *this;
  s.local_ip = private_ip(number, host);
  return s;
}

Site add_site(Network& net, std::uint8_t n, NatType type) {
  if (type == NatType::None) {
    Site s;
    s.number = n;
    s.local_ip = s.public_ip = public_host_ip(n);
    return s;
  }
  Site s = add_site(net, n, NatConfig::of(type));
  s.type = type;
  return s;
}

Site add_site(Network& net, std::uint8_t n, NatConfig config) {
  Site s;
  s.type = NatType::None; // a custom NAT has no classic name; add_site(NatType) overwrites it
  s.number = n;
  s.public_ip = nat_public_ip(n);
  s.nat = net.add_nat(config, s.public_ip);
  s.local_ip = private_ip(n);
  return s;
}

namespace {
Site make_site(Network& net, std::uint8_t n, NatType type, const TopologyOptions& options) {
  if (type == NatType::None || !options.adjust_nat) return add_site(net, n, type);
  NatConfig config = NatConfig::of(type);
  options.adjust_nat(config);
  Site s = add_site(net, n, config);
  s.type = type;
  return s;
}
} // namespace

TwoPeerTopology::TwoPeerTopology(Network& network, NatType type_a, NatType type_b,
                                 TopologyOptions options)
    : net(network) {
  site_a = make_site(net, 1, type_a, options);
  if (options.same_lan) {
    site_b = site_a.nat ? site_a.neighbour(3) : make_site(net, 2, NatType::None, options);
  } else {
    site_b = make_site(net, 2, type_b, options);
  }
  if (options.stun_server) {
    stun_address = default_stun_address();
    stun = add_stun_server(net, stun_address, "stun", &stun_server_);
  }
}

HostId TwoPeerTopology::attach_a(Endpoint& endpoint, std::string name) {
  a = site_a.attach(net, std::move(name), endpoint);
  return *a;
}

HostId TwoPeerTopology::attach_b(Endpoint& endpoint, std::string name) {
  b = site_b.attach(net, std::move(name), endpoint);
  return *b;
}

bool TwoPeerTopology::stun_only_connectivity_expected() const noexcept {
  if (site_a.nat && site_a.nat == site_b.nat) return true; // same LAN: host candidates
  return sim::stun_only_connectivity_expected(site_a.type, site_b.type);
}

} // namespace posthorn::sim
