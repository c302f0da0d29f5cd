#include "runtime/udp_mux.hpp"

#include "core/log.hpp"
#include "ice/stun_message.hpp"

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include <array>
#include <unordered_map>

namespace posthorn::runtime {
namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

// Kernel socket buffers: a 4 MiB receive buffer rides out the bursts an SCTP congestion window
// of a few MiB produces on loopback without drops (the default 208 KiB drops under bulk load).
constexpr int kSocketBufferBytes = 4 * 1024 * 1024;
// Largest datagram we accept; anything bigger is truncated by the kernel and dropped by parsers.
constexpr std::size_t kMaxDatagram = 65536;
// Datagrams handled per readiness wake-up before yielding to other work on the loop.
constexpr int kMaxBurst = 64;

udp::endpoint to_endpoint(const SocketAddress& a) {
  auto bytes = a.ip().bytes();
  if (a.ip().is_v4()) {
    asio::ip::address_v4::bytes_type b;
    std::copy(bytes.begin(), bytes.end(), b.begin());
    return {asio::ip::address_v4(b), a.port()};
  }
  asio::ip::address_v6::bytes_type b;
  std::copy(bytes.begin(), bytes.end(), b.begin());
  return {asio::ip::address_v6(b), a.port()};
}

SocketAddress from_endpoint(const udp::endpoint& e) {
  const auto addr = e.address();
  if (addr.is_v4()) return {IpAddress::v4(addr.to_v4().to_bytes()), e.port()};
  const auto v6 = addr.to_v6();
  if (v6.is_v4_mapped()) {
    return {IpAddress::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes()), e.port()};
  }
  return {IpAddress::v6(v6.to_bytes()), e.port()};
}

} // namespace

struct UdpMux::Impl {
  struct Socket {
    udp::socket socket;
    SocketAddress local;
  };
  struct Connection {
    std::string ufrag;
    Receiver receiver;
  };

  explicit Impl(asio::any_io_executor ex) : executor(std::move(ex)) {}

  asio::any_io_executor executor;
  std::vector<std::unique_ptr<Socket>> sockets;
  std::unordered_map<ConnectionKey, Connection> connections;
  std::unordered_map<SocketAddress, ConnectionKey> routes;
  ConnectionKey next_key = 1;
  std::function<void()> burst_end;
  UdpMuxStats stats;
  std::array<std::uint8_t, kMaxDatagram> buffer{};
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  void arm(Socket& s) {
    std::weak_ptr<bool> weak = alive;
    s.socket.async_wait(udp::socket::wait_read, [this, &s, weak](boost::system::error_code ec) {
      if (ec || weak.expired()) return;
      drain(s);
      arm(s);
    });
  }

  void drain(Socket& s) {
    for (int i = 0; i < kMaxBurst; ++i) {
      udp::endpoint from;
      boost::system::error_code ec;
      const std::size_t n = s.socket.receive_from(asio::buffer(buffer), from, 0, ec);
      if (ec) break; // would_block ends the burst; other errors (ICMP unreachable) are transient
      ++stats.datagrams_in;
      stats.bytes_in += n;
      dispatch(s.local, from_endpoint(from), ByteView(buffer.data(), n));
    }
    if (burst_end) burst_end();
  }

  void dispatch(const SocketAddress& local, const SocketAddress& remote, ByteView data) {
    if (auto r = routes.find(remote); r != routes.end()) {
      if (auto c = connections.find(r->second); c != connections.end()) {
        c->second.receiver(local, remote, data);
        return;
      }
    }
    // Unknown sender: a STUN check names its target connection in USERNAME.
    if (ice::looks_like_stun(data)) {
      if (auto msg = ice::StunMessage::decode(data)) {
        if (auto user = msg->string(ice::stun_attr::kUsername)) {
          auto ufrag = user->substr(0, user->find(':'));
          for (auto& [key, c] : connections) {
            if (c.ufrag == ufrag) {
              routes[remote] = key;
              c.receiver(local, remote, data);
              return;
            }
          }
        }
      }
    }
    // A single registered connection takes everything (the common client case).
    if (connections.size() == 1) {
      connections.begin()->second.receiver(local, remote, data);
      return;
    }
    ++stats.dropped_unroutable;
  }
};

UdpMux::UdpMux(asio::any_io_executor executor, const std::vector<IpAddress>& bind_addresses,
               std::uint16_t port)
    : impl_(std::make_unique<Impl>(std::move(executor))) {
  for (const auto& ip : bind_addresses) {
    auto s = std::make_unique<Impl::Socket>(Impl::Socket{udp::socket(impl_->executor), {}});
    const auto endpoint = to_endpoint(SocketAddress(ip, port));
    s->socket.open(endpoint.protocol());
    if (!ip.is_v4()) s->socket.set_option(asio::ip::v6_only(true));
    boost::system::error_code ignored;
    s->socket.set_option(asio::socket_base::receive_buffer_size(kSocketBufferBytes), ignored);
    s->socket.set_option(asio::socket_base::send_buffer_size(kSocketBufferBytes), ignored);
    s->socket.bind(endpoint);
    s->socket.non_blocking(true);
    s->local = from_endpoint(s->socket.local_endpoint());
    impl_->arm(*s);
    impl_->sockets.push_back(std::move(s));
  }
}

UdpMux::~UdpMux() {
  *impl_->alive = false;
  for (auto& s : impl_->sockets) {
    boost::system::error_code ignored;
    s->socket.close(ignored);
  }
}

std::vector<SocketAddress> UdpMux::local_addresses() const {
  std::vector<SocketAddress> out;
  for (const auto& s : impl_->sockets)
    out.push_back(s->local);
  return out;
}

UdpMux::ConnectionKey UdpMux::add_connection(std::string local_ufrag, Receiver receiver) {
  const auto key = impl_->next_key++;
  impl_->connections[key] = {std::move(local_ufrag), std::move(receiver)};
  return key;
}

void UdpMux::set_ufrag(ConnectionKey key, std::string local_ufrag) {
  if (auto c = impl_->connections.find(key); c != impl_->connections.end())
    c->second.ufrag = std::move(local_ufrag);
}

void UdpMux::remove_connection(ConnectionKey key) {
  impl_->connections.erase(key);
  std::erase_if(impl_->routes, [&](const auto& r) { return r.second == key; });
}

void UdpMux::send(ConnectionKey key, const SocketAddress& local, const SocketAddress& remote,
                  ByteView data) {
  for (auto& s : impl_->sockets) {
    if (s->local != local) continue;
    impl_->routes[remote] = key;
    boost::system::error_code ec;
    s->socket.send_to(asio::buffer(data.data(), data.size()), to_endpoint(remote), 0, ec);
    if (ec) {
      ++impl_->stats.send_errors;
      POSTHORN_LOG(Debug, "udp", "send failed: ", ec.message());
      return;
    }
    ++impl_->stats.datagrams_out;
    impl_->stats.bytes_out += data.size();
    return;
  }
  ++impl_->stats.send_errors;
}

void UdpMux::on_burst_end(std::function<void()> fn) {
  impl_->burst_end = std::move(fn);
}

const UdpMuxStats& UdpMux::stats() const noexcept {
  return impl_->stats;
}

} // namespace posthorn::runtime
