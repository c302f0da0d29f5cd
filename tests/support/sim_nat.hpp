#pragma once
// A simulated UDP NAT for the sim network, following the behaviour classes of RFC 4787.
//
// A NAT keeps one table of mappings. A mapping ties an internal transport address to an external
// port on the NAT's public IP. Two independent knobs decide everything hole punching cares about:
//   - mapping (RFC 4787 §4.1): is the same external port reused when the internal endpoint talks
//     to a different remote (endpoint-independent), or does each remote IP / IP:port get its own
//     port (address-dependent / address-and-port-dependent, the "symmetric" NAT)?
//   - filtering (RFC 4787 §5): which remotes may send to that external port: anyone
//     (endpoint-independent), only IPs the mapping has sent to (address-dependent), or only the
//     exact IP:port it has sent to (address-and-port-dependent)?
// Mappings and their per-remote permissions expire after `mapping_lifetime` without outbound
// traffic (RFC 4787 §4.3). The class knows nothing about routing; `sim::Network` calls it.
//
// Not thread-safe; owned and driven by one Network.

#include "core/rng.hpp"
#include "core/socket_address.hpp"
#include "core/time.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string_view>
#include <utility>

namespace posthorn::sim {

/// The classic names, each a preset of NatConfig (see NatConfig::of). None means "no NAT": the
/// topology helpers then put the host directly on the public network.
enum class NatType : std::uint8_t { None, FullCone, AddressRestricted, PortRestricted, Symmetric };

inline constexpr std::array<NatType, 5> kAllNatTypes{NatType::None, NatType::FullCone,
                                                     NatType::AddressRestricted,
                                                     NatType::PortRestricted, NatType::Symmetric};

/// "none", "full-cone", "address-restricted", "port-restricted", "symmetric".
std::string_view to_string(NatType t) noexcept;
std::ostream& operator<<(std::ostream& os, NatType t);

/// RFC 4787 §4.1 mapping behaviour.
enum class NatMapping : std::uint8_t {
  EndpointIndependent,
  AddressDependent,
  AddressAndPortDependent
};
/// RFC 4787 §5 filtering behaviour.
enum class NatFiltering : std::uint8_t {
  EndpointIndependent,
  AddressDependent,
  AddressAndPortDependent
};
/// RFC 4787 §4.2.1 port assignment. Random (seeded) is the default because it makes bugs that
/// confuse a host port with its mapped port visible; Preserve keeps the internal port when free.
enum class PortAllocation : std::uint8_t { Random, Sequential, Preserve };

struct NatConfig {
  NatMapping mapping = NatMapping::EndpointIndependent;
  NatFiltering filtering = NatFiltering::AddressAndPortDependent;
  /// RFC 4787 REQ-5 asks for at least 2 minutes; many home routers use 30–60 s. Scenarios about
  /// keepalives lower it.
  Duration mapping_lifetime = seconds(120);
  /// RFC 4787 REQ-6: outbound traffic refreshes a mapping; inbound refresh is optional (off).
  bool inbound_refresh = false;
  /// RFC 4787 REQ-9: packets from inside to the NAT's own public address loop back in, with
  /// the sender's mapped address as source. Many consumer NATs do not do it.
  bool hairpinning = true;
  PortAllocation port_allocation = PortAllocation::Random;
  std::uint16_t port_min = 49152;
  std::uint16_t port_max = 65535;

  /// The preset for a classic NAT type (FullCone = EIM + EIF, AddressRestricted = EIM + ADF,
  /// PortRestricted = EIM + APDF, Symmetric = APDM + APDF). NatType::None is a caller bug.
  static NatConfig of(NatType type);
};

enum class InboundVerdict : std::uint8_t { Pass, NoMapping, Filtered };

struct InboundResult {
  InboundVerdict verdict = InboundVerdict::NoMapping;
  SocketAddress internal; // valid when verdict == Pass
};

class Nat {
public:
  Nat(NatConfig config, IpAddress external_ip);

  /// A packet from `internal` to `remote` leaves through the NAT: creates or refreshes the
  /// mapping and the permission for `remote`, and returns the external source address. nullopt
  /// when the port range is exhausted (the packet is dropped).
  std::optional<SocketAddress> translate_outbound(TimePoint now, const SocketAddress& internal,
                                                  const SocketAddress& remote, Rng& rng);

  /// A packet from `remote` arrives at `external_port`. With `commit` false nothing changes
  /// (used to look ahead at where a packet would go).
  InboundResult translate_inbound(TimePoint now, const SocketAddress& remote,
                                  std::uint16_t external_port, bool commit);

  /// The live external address `internal` would use towards `remote`, without creating it.
  [[nodiscard]] std::optional<SocketAddress>
  mapping_for(TimePoint now, const SocketAddress& internal, const SocketAddress& remote) const;
  [[nodiscard]] std::size_t live_mappings(TimePoint now) const;
  /// Forgets every mapping, as a NAT reboot does (new ports afterwards).
  void flush();

  [[nodiscard]] const NatConfig& config() const noexcept { return config_; }
  [[nodiscard]] const IpAddress& external_ip() const noexcept { return external_ip_; }

private:
  struct Mapping {
    SocketAddress internal;
    std::pair<SocketAddress, SocketAddress> key;
    TimePoint last_active;
    /// Remote → last time traffic kept the permission alive (filtering state, RFC 4787 §5).
    std::map<SocketAddress, TimePoint> permissions;
  };

  [[nodiscard]] std::pair<SocketAddress, SocketAddress> key_for(const SocketAddress& internal,
                                                                const SocketAddress& remote) const;
  [[nodiscard]] bool alive(TimePoint now, TimePoint last) const noexcept {
    return now - last < config_.mapping_lifetime;
  }
  [[nodiscard]] bool admits(TimePoint now, const Mapping& m, const SocketAddress& remote) const;
  void purge_expired(TimePoint now);
  std::optional<std::uint16_t> allocate_port(const SocketAddress& internal, Rng& rng);

  NatConfig config_;
  IpAddress external_ip_;
  std::map<std::pair<SocketAddress, SocketAddress>, std::uint16_t> by_key_;
  std::map<std::uint16_t, Mapping> by_port_;
  std::uint32_t next_sequential_;
};

} // namespace posthorn::sim
