#pragma once
// A small TURN server (RFC 8656 over UDP) for the sim network: long-term credentials with one
// user (401 challenge, MESSAGE-INTEGRITY on every answer), Allocate, Refresh (LIFETIME 0
// releases), CreatePermission, ChannelBind, Send/Data indications and ChannelData. Relayed
// addresses are ports of the server's own IP. Enough to put the agent's TURN path through NATs
// on virtual time; the real thing (coturn) is exercised by tests/integration.
//
// Not modelled: lifetimes/expiry, nonces going stale, quotas, TCP, IPv6 relaying.

#include "support/sim_net.hpp"

#include "ice/stun_message.hpp"
#include "ice/turn_codec.hpp"

#include <deque>
#include <map>
#include <set>
#include <string>

namespace posthorn::sim {

class SimTurnServer final : public Endpoint {
public:
  struct Options {
    SocketAddress address;
    std::string user = "alice";
    std::string password = "secret";
    std::string realm = "sim.test";
    std::uint16_t first_relay_port = 50000;
  };
  struct Counters {
    std::uint64_t allocations = 0;
    std::uint64_t auth_failures = 0;
    std::uint64_t to_peers = 0;   // datagrams relayed from clients to peers
    std::uint64_t to_clients = 0; // datagrams relayed from peers to clients
    std::uint64_t dropped_no_permission = 0;
  };

  explicit SimTurnServer(Options o)
      : options_(std::move(o)),
        key_(ice::long_term_key(options_.user, options_.realm, options_.password)),
        next_port_(options_.first_relay_port) {}

  [[nodiscard]] const Counters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::size_t live_allocations() const noexcept { return by_client_.size(); }

  void handle_datagram(TimePoint, const SocketAddress& local, const SocketAddress& from,
                       ByteView data) override {
    if (local == options_.address) {
      from_client(from, data);
    } else {
      from_peer(local, from, data);
    }
  }
  void handle_timeout(TimePoint) override {}
  std::optional<Datagram> poll_transmit() override {
    if (outbox_.empty()) return std::nullopt;
    auto d = std::move(outbox_.front());
    outbox_.pop_front();
    return d;
  }
  std::optional<TimePoint> poll_timeout() override { return std::nullopt; }

private:
  struct Allocation {
    SocketAddress relayed;
    std::set<IpAddress> permissions;
    std::map<std::uint16_t, SocketAddress> channels;
  };

  void send(const SocketAddress& from, const SocketAddress& to, Bytes data) {
    outbox_.push_back({from, to, std::move(data)});
  }
  void answer(const SocketAddress& client, ice::StunMessage msg, bool authenticated = true) {
    send(options_.address, client,
         msg.encode(authenticated ? std::optional<ByteView>(key_) : std::nullopt, true));
  }
  static ice::StunMessage reply(const ice::StunMessage& req, ice::StunClass cls) {
    return ice::StunMessage(cls, static_cast<ice::StunMethod>(req.method_code()),
                            req.transaction_id());
  }
  void challenge(const SocketAddress& client, const ice::StunMessage& req) {
    auto r = reply(req, ice::StunClass::ErrorResponse);
    r.add_error(401, "Unauthorized");
    r.add_string(ice::stun_attr::kRealm, options_.realm);
    r.add_string(ice::stun_attr::kNonce, "sim-nonce");
    answer(client, std::move(r), false);
  }

  void from_client(const SocketAddress& client, ByteView data) {
    auto it = by_client_.find(client);
    if (ice::looks_like_channel_data(data)) {
      auto cd = ice::decode_channel_data(data);
      if (!cd || it == by_client_.end()) return;
      auto ch = it->second.channels.find(cd->channel);
      if (ch == it->second.channels.end()) return;
      ++counters_.to_peers;
      send(it->second.relayed, ch->second, Bytes(cd->data.begin(), cd->data.end()));
      return;
    }
    auto msg = ice::StunMessage::decode(data);
    if (!msg) return;
    if (msg->is(ice::StunClass::Indication, ice::StunMethod::Send)) {
      auto peer = msg->xor_address(ice::stun_attr::kXorPeerAddress);
      const auto* payload = msg->find(ice::stun_attr::kData);
      if (!peer || !payload || it == by_client_.end()) return;
      if (!it->second.permissions.count(peer->ip())) {
        ++counters_.dropped_no_permission;
        return;
      }
      ++counters_.to_peers;
      send(it->second.relayed, *peer, payload->value);
      return;
    }
    if (msg->cls() != ice::StunClass::Request) return;
    // RFC 8489 §9.2.4: every request needs USERNAME/REALM/NONCE and a valid MESSAGE-INTEGRITY.
    if (!msg->has_integrity()) {
      challenge(client, *msg);
      return;
    }
    if (msg->string(ice::stun_attr::kUsername) != options_.user || !msg->check_integrity(key_)) {
      ++counters_.auth_failures;
      challenge(client, *msg);
      return;
    }
    const auto method = static_cast<ice::StunMethod>(msg->method_code());
    if (method == ice::StunMethod::Allocate) {
      if (it == by_client_.end()) {
        Allocation a;
        a.relayed = SocketAddress(options_.address.ip(), next_port_++);
        by_relayed_[a.relayed] = client;
        it = by_client_.emplace(client, std::move(a)).first;
        ++counters_.allocations;
      }
      auto r = reply(*msg, ice::StunClass::SuccessResponse);
      r.add_xor_address(ice::stun_attr::kXorRelayedAddress, it->second.relayed);
      r.add_xor_address(ice::stun_attr::kXorMappedAddress, client);
      r.add_u32(ice::stun_attr::kLifetime, 600);
      answer(client, std::move(r));
      return;
    }
    if (it == by_client_.end()) {
      auto r = reply(*msg, ice::StunClass::ErrorResponse);
      r.add_error(437, "Allocation Mismatch");
      answer(client, std::move(r));
      return;
    }
    auto& a = it->second;
    auto r = reply(*msg, ice::StunClass::SuccessResponse);
    switch (method) {
    case ice::StunMethod::Refresh: {
      const auto lifetime = msg->u32(ice::stun_attr::kLifetime).value_or(600);
      r.add_u32(ice::stun_attr::kLifetime, lifetime);
      answer(client, std::move(r));
      if (lifetime == 0) {
        by_relayed_.erase(a.relayed);
        by_client_.erase(it);
      }
      return;
    }
    case ice::StunMethod::CreatePermission:
      if (auto peer = msg->xor_address(ice::stun_attr::kXorPeerAddress))
        a.permissions.insert(peer->ip());
      break;
    case ice::StunMethod::ChannelBind: {
      auto peer = msg->xor_address(ice::stun_attr::kXorPeerAddress);
      auto number = ice::channel_number(*msg);
      if (!peer || !number) return;
      a.channels[*number] = *peer;
      a.permissions.insert(peer->ip());
      break;
    }
    default: return;
    }
    answer(client, std::move(r));
  }

  void from_peer(const SocketAddress& relayed, const SocketAddress& peer, ByteView data) {
    auto c = by_relayed_.find(relayed);
    if (c == by_relayed_.end()) return;
    auto& a = by_client_.at(c->second);
    // RFC 8656 §9: only peers with a permission get through.
    if (!a.permissions.count(peer.ip())) {
      ++counters_.dropped_no_permission;
      return;
    }
    ++counters_.to_clients;
    for (const auto& [number, bound] : a.channels) {
      if (bound == peer) {
        send(options_.address, c->second, ice::encode_channel_data(number, data, false));
        return;
      }
    }
    ice::TransactionId id{};
    ice::StunMessage ind(ice::StunClass::Indication, ice::StunMethod::Data, id);
    ind.add_xor_address(ice::stun_attr::kXorPeerAddress, peer);
    ind.add(ice::stun_attr::kData, data);
    send(options_.address, c->second, ind.encode());
  }

  Options options_;
  Bytes key_;
  std::uint16_t next_port_;
  std::map<SocketAddress, Allocation> by_client_;
  std::map<SocketAddress, SocketAddress> by_relayed_;
  std::deque<Datagram> outbox_;
  Counters counters_;
};

} // namespace posthorn::sim
