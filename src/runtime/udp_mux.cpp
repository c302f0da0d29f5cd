#include "runtime/udp_mux.hpp"

#include "core/log.hpp"
#include "core/time.hpp"
#include "ice/stun_message.hpp"

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
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
// Datagrams per recvmmsg/sendmmsg call. 32 amortizes the system call (the dominant per-packet
// cost on loopback) without holding the loop for long.
constexpr std::size_t kBatch = 32;
// recvmmsg calls per readiness wake-up before yielding to other work on the loop.
constexpr int kMaxBatchesPerWakeup = 8;

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

socklen_t to_sockaddr(const SocketAddress& a, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  if (a.ip().is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(a.port());
    std::memcpy(&sin->sin_addr, a.ip().bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(a.port());
  std::memcpy(&sin6->sin6_addr, a.ip().bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<SocketAddress> from_sockaddr(const sockaddr_storage& s) {
  if (s.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&s);
    std::array<std::uint8_t, 4> b;
    std::memcpy(b.data(), &sin->sin_addr, 4);
    return SocketAddress(IpAddress::v4(b), ntohs(sin->sin_port));
  }
  if (s.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&s);
    std::array<std::uint8_t, 16> b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    return SocketAddress(IpAddress::v6(b), ntohs(sin6->sin6_port));
  }
  return std::nullopt;
}

/// Receive buffers shared by every mux on a thread (they are only used inside drain()), so an
/// idle connection costs no buffer memory.
struct ReceiveBatch {
  std::array<std::array<std::uint8_t, kMaxDatagram>, kBatch> buffers;
  std::array<sockaddr_storage, kBatch> sources;
  std::array<iovec, kBatch> iov;
  std::array<mmsghdr, kBatch> headers;
};
ReceiveBatch& receive_batch() {
  // Default-initialized, not zeroed: zeroing 2 MiB would fault in every page (~6 ms on a VM, in
  // the middle of connection setup); untouched buffer pages are only faulted in when a datagram
  // that large arrives.
  thread_local std::unique_ptr<ReceiveBatch> batch(new ReceiveBatch);
  return *batch;
}

} // namespace

struct UdpMux::Impl {
  struct Socket {
    udp::socket socket;
    SocketAddress local;
  };
  /// A datagram the impairment test hook holds back until `due`.
  struct Delayed {
    TimePoint due;
    std::uint64_t seq; // ties keep send order
    SocketAddress local;
    SocketAddress remote;
    Bytes data;
  };
  /// Min-heap order on (due, seq) for std::push_heap/pop_heap.
  static bool later(const Delayed& a, const Delayed& b) {
    return a.due != b.due ? a.due > b.due : a.seq > b.seq;
  }
  /// The POSTHORN_TEST_IMPAIR stage (udp_mux.hpp); absent unless the variable is set.
  struct Impairer {
    Impairer(UdpImpairment c, const asio::any_io_executor& ex) : config(c), timer(ex) {}
    UdpImpairment config;
    asio::steady_timer timer;
    std::vector<Delayed> heap;
    std::size_t bytes = 0;
    std::uint64_t next_seq = 0;
    std::minstd_rand rng{std::random_device{}()};
  };
  struct Connection {
    std::string ufrag;
    Receiver receiver;
    std::function<void()> burst_end;
    bool touched = false;
  };

  explicit Impl(asio::any_io_executor ex) : executor(std::move(ex)) {}

  asio::any_io_executor executor;
  std::vector<std::unique_ptr<Socket>> sockets;
  std::unordered_map<ConnectionKey, Connection> connections;
  std::unordered_map<SocketAddress, ConnectionKey> routes;
  std::vector<ConnectionKey> touched;
  ConnectionKey next_key = 1;
  UdpMuxStats stats;
  std::unique_ptr<Impairer> impairer;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  /// Sends now, one sendmmsg per run of datagrams from the same local socket.
  void transmit(std::span<const Outgoing> datagrams) {
    std::array<sockaddr_storage, kBatch> names;
    std::array<iovec, kBatch> iov;
    std::array<mmsghdr, kBatch> headers;
    std::size_t i = 0;
    while (i < datagrams.size()) {
      Socket* socket = socket_for(*datagrams[i].local);
      if (!socket) {
        ++stats.send_errors;
        ++i;
        continue;
      }
      std::size_t count = 0;
      while (i + count < datagrams.size() && count < kBatch &&
             *datagrams[i + count].local == socket->local) {
        const auto& d = datagrams[i + count];
        headers[count] = {};
        headers[count].msg_hdr.msg_name = &names[count];
        headers[count].msg_hdr.msg_namelen = to_sockaddr(*d.remote, names[count]);
        iov[count] = {const_cast<std::uint8_t*>(d.data.data()), d.data.size()};
        headers[count].msg_hdr.msg_iov = &iov[count];
        headers[count].msg_hdr.msg_iovlen = 1;
        ++count;
      }
      std::size_t sent = 0;
      while (sent < count) {
        const int n = ::sendmmsg(socket->socket.native_handle(), headers.data() + sent,
                                 static_cast<unsigned>(count - sent), MSG_DONTWAIT);
        if (n <= 0) {
          // A full kernel buffer or an ICMP error: drop the rest of this run (SCTP and ICE
          // retransmit), and count it.
          stats.send_errors += count - sent;
          POSTHORN_LOG(Debug, "udp", "sendmmsg failed: ", std::strerror(errno));
          break;
        }
        for (int k = 0; k < n; ++k)
          stats.bytes_out += iov[sent + static_cast<std::size_t>(k)].iov_len;
        stats.datagrams_out += static_cast<std::uint64_t>(n);
        sent += static_cast<std::size_t>(n);
      }
      i += count;
    }
  }

  /// Test hook: queues copies of `datagrams` to leave after the configured delay.
  void hold_back(std::span<const Outgoing> datagrams) {
    auto& im = *impairer;
    const auto now = Clock::now();
    const bool was_empty = im.heap.empty();
    const TimePoint earliest = was_empty ? TimePoint::max() : im.heap.front().due;
    for (const auto& d : datagrams) {
      if (im.bytes + d.data.size() > im.config.queue_bytes) {
        ++stats.impair_dropped; // a full router queue: tail drop
        continue;
      }
      auto delay = im.config.delay;
      if (im.config.jitter.count() > 0)
        delay += std::chrono::microseconds(
            std::uniform_int_distribution<std::int64_t>(0, im.config.jitter.count())(im.rng));
      im.heap.push_back(
          {now + delay, im.next_seq++, *d.local, *d.remote, Bytes(d.data.begin(), d.data.end())});
      std::push_heap(im.heap.begin(), im.heap.end(), later);
      im.bytes += d.data.size();
      ++stats.impair_delayed;
    }
    if (!im.heap.empty() && im.heap.front().due < earliest) arm_impairer();
  }

  void arm_impairer() {
    auto& im = *impairer;
    im.timer.expires_at(im.heap.front().due);
    std::weak_ptr<bool> weak = alive;
    im.timer.async_wait([this, weak](boost::system::error_code ec) {
      if (ec || weak.expired()) return;
      release_due();
    });
  }

  /// Sends every held datagram whose time has come, in due order, then re-arms.
  void release_due() {
    auto& im = *impairer;
    const auto now = Clock::now();
    std::vector<Delayed> due;
    while (!im.heap.empty() && im.heap.front().due <= now) {
      std::pop_heap(im.heap.begin(), im.heap.end(), later);
      due.push_back(std::move(im.heap.back()));
      im.heap.pop_back();
    }
    std::vector<Outgoing> out;
    out.reserve(due.size());
    for (const auto& d : due) {
      im.bytes -= d.data.size();
      out.push_back({&d.local, &d.remote, d.data});
    }
    transmit(out);
    if (!im.heap.empty()) arm_impairer();
  }

  void arm(Socket& s) {
    std::weak_ptr<bool> weak = alive;
    s.socket.async_wait(udp::socket::wait_read, [this, &s, weak](boost::system::error_code ec) {
      if (ec || weak.expired()) return;
      drain(s);
      if (weak.expired()) return; // a callback destroyed the mux
      arm(s);
    });
  }

  void drain(Socket& s) {
    auto& batch = receive_batch();
    std::weak_ptr<bool> weak = alive;
    for (int round = 0; round < kMaxBatchesPerWakeup; ++round) {
      for (std::size_t i = 0; i < kBatch; ++i) {
        batch.iov[i] = {batch.buffers[i].data(), kMaxDatagram};
        batch.headers[i] = {};
        batch.headers[i].msg_hdr.msg_name = &batch.sources[i];
        batch.headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        batch.headers[i].msg_hdr.msg_iov = &batch.iov[i];
        batch.headers[i].msg_hdr.msg_iovlen = 1;
      }
      const int n =
          ::recvmmsg(s.socket.native_handle(), batch.headers.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break; // EAGAIN ends the burst; ICMP errors are transient
      for (int i = 0; i < n && !weak.expired(); ++i) {
        auto from = from_sockaddr(batch.sources[static_cast<std::size_t>(i)]);
        if (!from) continue;
        ++stats.datagrams_in;
        stats.bytes_in += batch.headers[static_cast<std::size_t>(i)].msg_len;
        dispatch(s.local, *from,
                 ByteView(batch.buffers[static_cast<std::size_t>(i)].data(),
                          batch.headers[static_cast<std::size_t>(i)].msg_len));
      }
      if (weak.expired()) return;
      if (static_cast<std::size_t>(n) < kBatch) break;
    }
    end_burst();
  }

  void end_burst() {
    auto keys = std::move(touched);
    touched.clear();
    for (auto key : keys) {
      auto c = connections.find(key);
      if (c == connections.end()) continue;
      c->second.touched = false;
      if (c->second.burst_end) {
        auto fn = c->second.burst_end; // the callback may remove the connection
        fn();
      }
    }
  }

  void deliver(ConnectionKey key, Connection& c, const SocketAddress& local,
               const SocketAddress& remote, ByteView data) {
    if (!c.touched) {
      c.touched = true;
      touched.push_back(key);
    }
    c.receiver(local, remote, data);
  }

  void dispatch(const SocketAddress& local, const SocketAddress& remote, ByteView data) {
    if (auto r = routes.find(remote); r != routes.end()) {
      if (auto c = connections.find(r->second); c != connections.end()) {
        deliver(c->first, c->second, local, remote, data);
        return;
      }
    }
    // Unknown sender: a STUN check names its target connection in USERNAME (RFC 8445 §7.3).
    if (ice::looks_like_stun(data)) {
      if (auto msg = ice::StunMessage::decode(data)) {
        if (auto user = msg->string(ice::stun_attr::kUsername)) {
          auto ufrag = user->substr(0, user->find(':'));
          for (auto& [key, c] : connections) {
            if (c.ufrag == ufrag) {
              routes[remote] = key;
              deliver(key, c, local, remote, data);
              return;
            }
          }
        }
      }
    }
    // A single registered connection takes everything (the common client case).
    if (connections.size() == 1) {
      auto& [key, c] = *connections.begin();
      deliver(key, c, local, remote, data);
      return;
    }
    ++stats.dropped_unroutable;
  }

  Socket* socket_for(const SocketAddress& local) {
    for (auto& s : sockets) {
      if (s->local == local) return s.get();
    }
    return nullptr;
  }
};

UdpMux::UdpMux(asio::any_io_executor executor, const std::vector<IpAddress>& bind_addresses,
               std::uint16_t port)
    : impl_(std::make_unique<Impl>(std::move(executor))) {
  if (auto impairment = UdpImpairment::from_environment()) {
    POSTHORN_LOG(Warn, "udp", "POSTHORN_TEST_IMPAIR is set: outgoing datagrams are delayed by ",
                 impairment->delay.count(), " us + up to ", impairment->jitter.count(),
                 " us (a test hook)");
    impl_->impairer = std::make_unique<Impl::Impairer>(*impairment, impl_->executor);
  }
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
  if (impl_->impairer) impl_->impairer->timer.cancel();
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

UdpMux::ConnectionKey UdpMux::add_connection(std::string local_ufrag, Receiver receiver,
                                             std::function<void()> burst_end) {
  const auto key = impl_->next_key++;
  impl_->connections[key] = {std::move(local_ufrag), std::move(receiver), std::move(burst_end)};
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
  Outgoing one{&local, &remote, data};
  send_many(key, std::span<const Outgoing>(&one, 1));
}

void UdpMux::send_many(ConnectionKey key, std::span<const Outgoing> datagrams) {
  for (const auto& d : datagrams)
    impl_->routes[*d.remote] = key;
  if (impl_->impairer) {
    impl_->hold_back(datagrams);
    return;
  }
  impl_->transmit(datagrams);
}

const UdpMuxStats& UdpMux::stats() const noexcept {
  return impl_->stats;
}

UdpImpairment UdpImpairment::parse(std::string_view spec) {
  UdpImpairment out;
  while (!spec.empty()) {
    const auto comma = spec.find(',');
    const auto part = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const auto key = part.substr(0, eq);
    const auto text = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 3'600'000)
      throw std::invalid_argument("POSTHORN_TEST_IMPAIR: '" + std::string(part) +
                                  "' is not key=<integer up to 3600000>");
    if (key == "delay_ms") {
      out.delay = std::chrono::milliseconds(value);
    } else if (key == "jitter_ms") {
      out.jitter = std::chrono::milliseconds(value);
    } else if (key == "queue_kib") {
      out.queue_bytes = static_cast<std::size_t>(value) * 1024;
    } else {
      throw std::invalid_argument("POSTHORN_TEST_IMPAIR: unknown key '" + std::string(key) +
                                  "' (known: delay_ms, jitter_ms, queue_kib)");
    }
  }
  return out;
}

std::optional<UdpImpairment> UdpImpairment::from_environment() {
  const char* spec = std::getenv("POSTHORN_TEST_IMPAIR");
  if (!spec || !*spec) return std::nullopt;
  return parse(spec);
}

} // namespace posthorn::runtime
