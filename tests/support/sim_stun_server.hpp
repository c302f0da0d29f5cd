#pragma once
// A plain STUN server endpoint for the sim network: answers RFC 8489 Binding requests with the
// request's source address (as the server saw it, i.e. after every NAT) in XOR-MAPPED-ADDRESS
// (RFC 8489 §14.2), which is what ICE needs to gather server-reflexive candidates. No
// authentication (RFC 8489 §6.3 without credentials), no TURN. Uses the ice layer's STUN codec.

#include "sim_net.hpp"

#include <cstdint>
#include <deque>
#include <string>

namespace posthorn::sim {

class StunServer final : public Endpoint {
public:
  explicit StunServer(SocketAddress address) : address_(address) {}

  [[nodiscard]] const SocketAddress& address() const noexcept { return address_; }
  [[nodiscard]] std::uint64_t requests_answered() const noexcept { return answered_; }
  /// Datagrams that were not a well-formed Binding request for this address.
  [[nodiscard]] std::uint64_t ignored() const noexcept { return ignored_; }

  void handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& from,
                       ByteView data) override;
  void handle_timeout(TimePoint) override {}
  std::optional<Datagram> poll_transmit() override;
  std::optional<TimePoint> poll_timeout() override { return std::nullopt; }

private:
  SocketAddress address_;
  std::deque<Datagram> outbox_;
  std::uint64_t answered_ = 0;
  std::uint64_t ignored_ = 0;
};

/// Adds a network-owned StunServer on the public network; `server` (optional) receives a
/// pointer to it, valid for the network's lifetime.
HostId add_stun_server(Network& net, SocketAddress address, std::string name = "stun",
                       StunServer** server = nullptr);

} // namespace posthorn::sim
