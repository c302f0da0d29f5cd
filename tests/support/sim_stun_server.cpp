#include "sim_stun_server.hpp"

#include "ice/stun_message.hpp"

namespace posthorn::sim {

void StunServer::handle_datagram(TimePoint, const SocketAddress& local, const SocketAddress& from,
                                 ByteView data) {
  if (local != address_) {
    ++ignored_;
    return;
  }
  auto request = ice::StunMessage::decode(data);
  if (!request || !request->is(ice::StunClass::Request, ice::StunMethod::Binding)) {
    // RFC 8489 §6.3: indications and responses get no answer; garbage is dropped.
    ++ignored_;
    return;
  }
  // RFC 8489 §6.3.1.1: unknown comprehension-required attributes get a 420 naming them.
  if (auto unknown = request->unknown_required_attributes(); !unknown.empty()) {
    ice::StunMessage error(ice::StunClass::ErrorResponse, ice::StunMethod::Binding,
                           request->transaction_id());
    error.add_error(420, "Unknown Attribute");
    ByteWriter list;
    for (auto type : unknown)
      list.u16(type);
    error.add(ice::stun_attr::kUnknownAttributes, list.view());
    outbox_.push_back({address_, from, error.encode(std::nullopt, request->has_fingerprint())});
    ++answered_;
    return;
  }
  ice::StunMessage response(ice::StunClass::SuccessResponse, ice::StunMethod::Binding,
                            request->transaction_id());
  response.add_xor_address(ice::stun_attr::kXorMappedAddress, from);
  // Mirror FINGERPRINT: a client that uses it (ICE does, RFC 8445 §7.1) can then demultiplex
  // the answer as reliably as its own request.
  outbox_.push_back({address_, from, response.encode(std::nullopt, request->has_fingerprint())});
  ++answered_;
}

std::optional<Datagram> StunServer::poll_transmit() {
  if (outbox_.empty()) return std::nullopt;
  Datagram d = std::move(outbox_.front());
  outbox_.pop_front();
  return d;
}

HostId add_stun_server(Network& net, SocketAddress address, std::string name, StunServer** server) {
  auto owned = std::make_unique<StunServer>(address);
  if (server != nullptr) *server = owned.get();
  return net.add_host(std::move(name), std::move(owned), {address.ip()});
}

} // namespace posthorn::sim
