#include "runtime/turn_sockets.hpp"

#include "core/log.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <map>

namespace posthorn::runtime {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

namespace {

// Bytes queued on one TCP link beyond what the kernel took: a few round trips of a relayed
// data channel at loopback speed. SCTP's congestion window keeps the steady state far below.
constexpr std::size_t kMaxTcpBacklog = 8 * 1024 * 1024;
// Largest UDP datagram; also the TCP read chunk.
constexpr std::size_t kReadBuffer = 65536;
// Datagrams read per readiness wake-up on a UDP link before yielding to the loop.
constexpr int kMaxReadsPerWakeup = 64;

asio::ip::address to_asio(const IpAddress& ip) {
  const auto bytes = ip.bytes();
  if (ip.is_v4()) {
    asio::ip::address_v4::bytes_type b;
    std::copy(bytes.begin(), bytes.end(), b.begin());
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::copy(bytes.begin(), bytes.end(), b.begin());
  return asio::ip::address_v6(b);
}

} // namespace

struct TurnSockets::Impl : std::enable_shared_from_this<TurnSockets::Impl> {
  struct Link {
    Link(asio::any_io_executor ex, ice::TurnLink l) : link(l), udp_socket(ex), tcp_socket(ex) {}
    ice::TurnLink link;
    udp::socket udp_socket;
    tcp::socket tcp_socket;
    bool connected = false; // TCP: the connection is up
    bool closed = false;
    bool writing = false;
    Bytes backlog;  // TCP: bytes not yet handed to async_write
    Bytes in_write; // TCP: bytes of the write in flight
    Bytes read_buffer = Bytes(kReadBuffer);
  };

  Impl(asio::any_io_executor ex, Handlers h) : executor(std::move(ex)), handlers(std::move(h)) {}

  asio::any_io_executor executor;
  Handlers handlers;
  std::map<ice::TurnLinkId, std::shared_ptr<Link>> links;
  TurnSocketStats stats;
  bool shut_down = false;

  void shutdown() {
    shut_down = true;
    for (auto& [id, l] : links) {
      boost::system::error_code ignored;
      l->udp_socket.close(ignored);
      l->tcp_socket.close(ignored);
    }
  }

  /// Reports a closed link later, from the loop (never inside send()).
  void report_closed(const std::shared_ptr<Link>& l) {
    if (l->closed) return;
    l->closed = true;
    boost::system::error_code ignored;
    l->udp_socket.close(ignored);
    l->tcp_socket.close(ignored);
    std::weak_ptr<Impl> weak = shared_from_this();
    const auto id = l->link.id;
    asio::post(executor, [weak, id] {
      auto self = weak.lock();
      if (!self || self->shut_down) return;
      if (self->handlers.on_closed) self->handlers.on_closed(id);
      if (self->handlers.on_burst_end) self->handlers.on_burst_end();
    });
  }

  std::shared_ptr<Link> open(const ice::Transmit& t) {
    auto l = std::make_shared<Link>(executor, *t.turn);
    links[t.turn->id] = l;
    ++stats.links_opened;
    const auto local_ip = to_asio(t.local.ip());
    const auto server_ip = to_asio(t.remote.ip());
    boost::system::error_code ec;
    if (t.turn->transport == ice::TurnTransport::Udp) {
      const udp::endpoint server(server_ip, t.remote.port());
      l->udp_socket.open(server.protocol(), ec);
      if (!ec) l->udp_socket.bind(udp::endpoint(local_ip, 0), ec);
      // Connected: only the server's datagrams arrive, and ICMP errors surface as
      // connection_refused on the next receive.
      if (!ec) l->udp_socket.connect(server, ec);
      if (!ec) l->udp_socket.non_blocking(true, ec);
      if (ec) {
        POSTHORN_LOG(Info, "turn", "cannot open a UDP socket for a TURN server: ", ec.message());
        report_closed(l);
        return l;
      }
      arm_udp(l);
      return l;
    }
    const tcp::endpoint server(server_ip, t.remote.port());
    l->tcp_socket.open(server.protocol(), ec);
    if (!ec) l->tcp_socket.bind(tcp::endpoint(local_ip, 0), ec);
    // Small STUN and ChannelData messages: latency matters more than segment count.
    if (!ec) l->tcp_socket.set_option(tcp::no_delay(true), ec);
    if (ec) {
      ++stats.connect_failures;
      POSTHORN_LOG(Info, "turn", "cannot open a TCP socket for a TURN server: ", ec.message());
      report_closed(l);
      return l;
    }
    std::weak_ptr<Impl> weak = shared_from_this();
    l->tcp_socket.async_connect(server, [weak, l](boost::system::error_code e) {
      auto self = weak.lock();
      if (!self || self->shut_down || l->closed) return;
      if (e) {
        ++self->stats.connect_failures;
        POSTHORN_LOG(Info, "turn", "TCP connection to a TURN server failed: ", e.message());
        self->report_closed(l);
        return;
      }
      l->connected = true;
      self->write_more(l);
      self->read_tcp(l);
    });
    return l;
  }

  void arm_udp(const std::shared_ptr<Link>& l) {
    std::weak_ptr<Impl> weak = shared_from_this();
    l->udp_socket.async_wait(udp::socket::wait_read, [weak, l](boost::system::error_code e) {
      auto self = weak.lock();
      if (!self || self->shut_down || l->closed || e) return;
      self->drain_udp(l);
    });
  }

  void drain_udp(const std::shared_ptr<Link>& l) {
    std::weak_ptr<Impl> weak = shared_from_this();
    for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
      boost::system::error_code ec;
      const std::size_t n = l->udp_socket.receive(asio::buffer(l->read_buffer), 0, ec);
      if (ec == asio::error::would_block) break;
      if (ec == asio::error::connection_refused) {
        // ICMP port unreachable for an earlier datagram: tell the agent (it only acts on this
        // while allocating) and keep the socket.
        if (handlers.on_closed) handlers.on_closed(l->link.id);
        if (weak.expired() || shut_down) return;
        continue;
      }
      if (ec) break;
      stats.bytes_in += n;
      if (handlers.on_bytes) handlers.on_bytes(l->link.id, ByteView(l->read_buffer.data(), n));
      if (weak.expired() || shut_down || l->closed) return;
    }
    if (handlers.on_burst_end) handlers.on_burst_end();
    if (weak.expired() || shut_down || l->closed) return;
    arm_udp(l);
  }

  void read_tcp(const std::shared_ptr<Link>& l) {
    std::weak_ptr<Impl> weak = shared_from_this();
    l->tcp_socket.async_read_some(
        asio::buffer(l->read_buffer), [weak, l](boost::system::error_code e, std::size_t n) {
          auto self = weak.lock();
          if (!self || self->shut_down || l->closed) return;
          if (e) {
            // EOF or reset: the allocation is gone with the connection (RFC 8656 §3.1).
            self->report_closed(l);
            return;
          }
          self->stats.bytes_in += n;
          if (self->handlers.on_bytes)
            self->handlers.on_bytes(l->link.id, ByteView(l->read_buffer.data(), n));
          if (weak.expired() || self->shut_down || l->closed) return;
          if (self->handlers.on_burst_end) self->handlers.on_burst_end();
          if (weak.expired() || self->shut_down || l->closed) return;
          self->read_tcp(l);
        });
  }

  void write_more(const std::shared_ptr<Link>& l) {
    if (!l->connected || l->writing || l->closed || l->backlog.empty()) return;
    l->writing = true;
    l->in_write.swap(l->backlog);
    l->backlog.clear();
    std::weak_ptr<Impl> weak = shared_from_this();
    asio::async_write(l->tcp_socket, asio::buffer(l->in_write),
                      [weak, l](boost::system::error_code e, std::size_t n) {
                        auto self = weak.lock();
                        if (!self || self->shut_down || l->closed) return;
                        l->writing = false;
                        l->in_write.clear();
                        if (e) {
                          self->report_closed(l);
                          return;
                        }
                        self->stats.bytes_out += n;
                        self->write_more(l);
                      });
  }

  void send(const ice::Transmit& t) {
    auto it = links.find(t.turn->id);
    std::shared_ptr<Link> l = it == links.end() ? open(t) : it->second;
    if (l->closed) {
      ++stats.send_errors;
      return;
    }
    if (l->link.transport == ice::TurnTransport::Udp) {
      boost::system::error_code ec;
      const std::size_t n = l->udp_socket.send(asio::buffer(t.payload), 0, ec);
      if (ec) {
        // A full socket buffer drops the datagram (TURN and ICE retransmit). ICMP errors
        // surface on the receive side.
        ++stats.send_errors;
        return;
      }
      stats.bytes_out += n;
      return;
    }
    if (l->backlog.size() + l->in_write.size() + t.payload.size() > kMaxTcpBacklog) {
      ++stats.dropped_backlog;
      return;
    }
    l->backlog.insert(l->backlog.end(), t.payload.begin(), t.payload.end());
    write_more(l);
  }
};

TurnSockets::TurnSockets(asio::any_io_executor executor, Handlers handlers)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(handlers))) {}

TurnSockets::~TurnSockets() {
  impl_->shutdown();
}

void TurnSockets::send(const ice::Transmit& transmit) {
  if (!transmit.turn) return;
  impl_->send(transmit);
}

std::size_t TurnSockets::open_links() const noexcept {
  return static_cast<std::size_t>(std::count_if(impl_->links.begin(), impl_->links.end(),
                                                [](const auto& l) { return !l.second->closed; }));
}

const TurnSocketStats& TurnSockets::stats() const noexcept {
  return impl_->stats;
}

} // namespace posthorn::runtime
