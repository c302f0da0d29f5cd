#include "sim_nat.hpp"

#include <stdexcept>

namespace posthorn::sim {

std::string_view to_string(NatType t) noexcept {
  switch (t) {
  case NatType::None: return "none";
  case NatType::FullCone: return "full-cone";
  case NatType::AddressRestricted: return "address-restricted";
  case NatType::PortRestricted: return "port-restricted";
  case NatType::Symmetric: return "symmetric";
  }
  return "?";
}

std::ostream& operator<<(std::ostream& os, NatType t) {
  return os << to_string(t);
}

NatConfig NatConfig::of(NatType type) {
  NatConfig c;
  switch (type) {
  case NatType::None: throw std::invalid_argument("NatConfig::of(NatType::None): no NAT to build");
  case NatType::FullCone:
    c.mapping = NatMapping::EndpointIndependent;
    c.filtering = NatFiltering::EndpointIndependent;
    break;
  case NatType::AddressRestricted:
    c.mapping = NatMapping::EndpointIndependent;
    c.filtering = NatFiltering::AddressDependent;
    break;
  case NatType::PortRestricted:
    c.mapping = NatMapping::EndpointIndependent;
    c.filtering = NatFiltering::AddressAndPortDependent;
    break;
  case NatType::Symmetric:
    c.mapping = NatMapping::AddressAndPortDependent;
    c.filtering = NatFiltering::AddressAndPortDependent;
    break;
  }
  return c;
}

Nat::Nat(NatConfig config, IpAddress external_ip)
    : config_(config), external_ip_(external_ip), next_sequential_(config.port_min) {
  if (config_.port_min == 0 || config_.port_min > config_.port_max)
    throw std::invalid_argument("NatConfig: need 0 < port_min <= port_max");
  if (config_.mapping_lifetime <= Duration::zero())
    throw std::invalid_argument("NatConfig: mapping_lifetime must be positive");
}

std::pair<SocketAddress, SocketAddress> Nat::key_for(const SocketAddress& internal,
                                                     const SocketAddress& remote) const {
  // RFC 4787 §4.1: the part of the remote address that selects a mapping.
  switch (config_.mapping) {
  case NatMapping::EndpointIndependent: return {internal, SocketAddress{}};
  case NatMapping::AddressDependent: return {internal, SocketAddress{remote.ip(), 0}};
  case NatMapping::AddressAndPortDependent: return {internal, remote};
  }
  return {internal, remote};
}

bool Nat::admits(TimePoint now, const Mapping& m, const SocketAddress& remote) const {
  switch (config_.filtering) {
  case NatFiltering::EndpointIndependent: return true;
  case NatFiltering::AddressDependent:
    for (const auto& [addr, last] : m.permissions) {
      if (addr.ip() == remote.ip() && alive(now, last)) return true;
    }
    return false;
  case NatFiltering::AddressAndPortDependent: {
    auto it = m.permissions.find(remote);
    return it != m.permissions.end() && alive(now, it->second);
  }
  }
  return false;
}

void Nat::purge_expired(TimePoint now) {
  for (auto it = by_port_.begin(); it != by_port_.end();) {
    if (alive(now, it->second.last_active)) {
      ++it;
      continue;
    }
    by_key_.erase(it->second.key);
    it = by_port_.erase(it);
  }
}

std::optional<std::uint16_t> Nat::allocate_port(const SocketAddress& internal, Rng& rng) {
  const std::uint32_t lo = config_.port_min;
  const std::uint32_t span = std::uint32_t{config_.port_max} - lo + 1;
  if (config_.port_allocation == PortAllocation::Preserve && internal.port() != 0 &&
      !by_port_.contains(internal.port()))
    return internal.port();
  std::uint32_t start = 0;
  switch (config_.port_allocation) {
  case PortAllocation::Random: start = static_cast<std::uint32_t>(rng.uniform(span)); break;
  case PortAllocation::Sequential:
  case PortAllocation::Preserve: start = (next_sequential_ - lo) % span; break;
  }
  // Probe linearly from the chosen start: bounded by the range size, deterministic.
  for (std::uint32_t i = 0; i < span; ++i) {
    auto port = static_cast<std::uint16_t>(lo + (start + i) % span);
    if (!by_port_.contains(port)) {
      next_sequential_ = lo + (start + i + 1) % span;
      return port;
    }
  }
  return std::nullopt;
}

std::optional<SocketAddress> Nat::translate_outbound(TimePoint now, const SocketAddress& internal,
                                                     const SocketAddress& remote, Rng& rng) {
  auto key = key_for(internal, remote);
  Mapping* m = nullptr;
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    Mapping& existing = by_port_.at(it->second);
    if (alive(now, existing.last_active)) {
      m = &existing;
    } else {
      // RFC 4787 §4.3: an expired mapping is gone; the next packet gets a fresh one.
      by_port_.erase(it->second);
      by_key_.erase(it);
    }
  }
  if (m == nullptr) {
    purge_expired(now);
    auto port = allocate_port(internal, rng);
    if (!port) return std::nullopt;
    by_key_.emplace(key, *port);
    m = &by_port_.emplace(*port, Mapping{internal, key, now, {}}).first->second;
  }
  m->last_active = now;
  // Permissions of long-dead remotes are dropped so that the table stays bounded.
  std::erase_if(m->permissions, [&](const auto& p) { return !alive(now, p.second); });
  m->permissions[remote] = now;
  auto ext = by_key_.at(key);
  return SocketAddress{external_ip_, ext};
}

InboundResult Nat::translate_inbound(TimePoint now, const SocketAddress& remote,
                                     std::uint16_t external_port, bool commit) {
  auto it = by_port_.find(external_port);
  if (it == by_port_.end() || !alive(now, it->second.last_active)) return {};
  Mapping& m = it->second;
  if (!admits(now, m, remote)) return {InboundVerdict::Filtered, {}};
  if (commit && config_.inbound_refresh) {
    m.last_active = now;
    if (auto p = m.permissions.find(remote); p != m.permissions.end()) p->second = now;
  }
  return {InboundVerdict::Pass, m.internal};
}

std::optional<SocketAddress> Nat::mapping_for(TimePoint now, const SocketAddress& internal,
                                              const SocketAddress& remote) const {
  auto it = by_key_.find(key_for(internal, remote));
  if (it == by_key_.end()) return std::nullopt;
  if (!alive(now, by_port_.at(it->second).last_active)) return std::nullopt;
  return SocketAddress{external_ip_, it->second};
}

std::size_t Nat::live_mappings(TimePoint now) const {
  std::size_t n = 0;
  for (const auto& [port, m] : by_port_) {
    if (alive(now, m.last_active)) ++n;
  }
  return n;
}

void Nat::flush() {
  by_key_.clear();
  by_port_.clear();
}

} // namespace posthorn::sim
