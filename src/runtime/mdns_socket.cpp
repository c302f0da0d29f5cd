#include "runtime/mdns_socket.hpp"

#include "core/log.hpp"
#include "core/overloaded.hpp"

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

namespace posthorn::runtime {
namespace asio = boost::asio;
using udp = asio::ip::udp;
namespace mdns = ice::mdns;

namespace {

// RFC 6762 §17: an mDNS message is at most 9000 bytes; a larger datagram is cut by the kernel
// and then fails to decode, which is what it deserves.
constexpr std::size_t kMaxDatagram = 9000;
// Datagrams read per readiness wake-up before yielding to other work on the loop.
constexpr int kMaxReadsPerWakeup = 16;

struct Subnet {
  IpAddress address;
  int prefix = 0;
};

struct Interface {
  std::string name;
  unsigned index = 0;
  unsigned flags = 0;
  std::vector<Subnet> v4;
  std::vector<Subnet> v6;
};

int prefix_length(const sockaddr* mask) {
  if (!mask) return 0;
  const std::uint8_t* b = nullptr;
  std::size_t n = 0;
  if (mask->sa_family == AF_INET) {
    b = reinterpret_cast<const std::uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
    n = 4;
  } else if (mask->sa_family == AF_INET6) {
    b = reinterpret_cast<const std::uint8_t*>(
        &reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
    n = 16;
  }
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i)
    bits += __builtin_popcount(b[i]);
  return bits;
}

std::optional<SocketAddress> from_sockaddr(const sockaddr* s) {
  if (!s) return std::nullopt;
  if (s->sa_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(s);
    std::array<std::uint8_t, 4> b;
    std::memcpy(b.data(), &sin->sin_addr, 4);
    return SocketAddress(IpAddress::v4(b), ntohs(sin->sin_port));
  }
  if (s->sa_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(s);
    std::array<std::uint8_t, 16> b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    return SocketAddress(IpAddress::v6(b), ntohs(sin6->sin6_port));
  }
  return std::nullopt;
}

std::vector<Interface> list_interfaces() {
  std::vector<Interface> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_name) continue;
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const Interface& x) { return x.name == i->ifa_name; });
    if (it == out.end()) {
      out.push_back({i->ifa_name, if_nametoindex(i->ifa_name), i->ifa_flags, {}, {}});
      it = std::prev(out.end());
    }
    auto addr = from_sockaddr(i->ifa_addr);
    if (!addr) continue;
    Subnet s{addr->ip(), prefix_length(i->ifa_netmask)};
    (addr->ip().is_v4() ? it->v4 : it->v6).push_back(s);
  }
  freeifaddrs(list);
  return out;
}

bool in_subnet(const IpAddress& ip, const Subnet& s) {
  if (ip.family() != s.address.family()) return false;
  const auto a = ip.bytes();
  const auto b = s.address.bytes();
  int bits = s.prefix;
  for (std::size_t i = 0; i < a.size() && bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

void set_option(int fd, int level, int name, const void* value, socklen_t size, const char* what) {
  if (::setsockopt(fd, level, name, value, size) != 0)
    POSTHORN_LOG(Debug, "mdns", "setsockopt ", what, " failed: ", std::strerror(errno));
}

void set_int(int fd, int level, int name, int value, const char* what) {
  set_option(fd, level, name, &value, sizeof value, what);
}

void share_port(int fd) {
  // Other mDNS responders (Chromium, avahi, systemd-resolved) bind 5353 with SO_REUSEADDR, and
  // Linux lets sockets share a port when every one of them set it; SO_REUSEPORT additionally
  // covers owners that only set that one (same user).
  set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
  set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
}

} // namespace

struct MdnsSocket::Impl {
  struct Socket {
    udp::socket socket;
    IpFamily family;
    unsigned ifindex = 0; // IPv6 sockets are bound to one interface
  };

  Impl(asio::any_io_executor ex, MdnsSocketOptions opts)
      : executor(std::move(ex)), options(std::move(opts)), timer(executor) {}

  asio::any_io_executor executor;
  MdnsSocketOptions options;
  std::vector<Interface> interfaces; // chosen ones
  std::vector<Socket> sockets;       // stable after construction
  std::optional<mdns::Resolver> resolver;
  std::unordered_map<mdns::QueryId, ResolveHandler> handlers;
  asio::steady_timer timer;
  std::optional<TimePoint> armed;
  bool shared_port = true;
  bool flush_posted = false;
  bool flushing = false;
  MdnsSocketStats stats;
  std::array<std::uint8_t, kMaxDatagram> buffer{};
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  void choose_interfaces() {
    auto all = list_interfaces();
    if (!options.interfaces.empty()) {
      for (auto& i : all) {
        auto owns = [&](const IpAddress& ip) {
          for (const auto* list : {&i.v4, &i.v6})
            for (const auto& s : *list)
              if (s.address == ip) return true;
          return false;
        };
        if (std::any_of(options.interfaces.begin(), options.interfaces.end(), owns))
          interfaces.push_back(std::move(i));
      }
      return;
    }
    for (auto& i : all)
      if ((i.flags & IFF_UP) && (i.flags & IFF_MULTICAST) && !(i.flags & IFF_LOOPBACK))
        interfaces.push_back(i);
    if (interfaces.empty()) {
      for (auto& i : all)
        if ((i.flags & IFF_UP) && (i.flags & IFF_LOOPBACK)) interfaces.push_back(i);
    }
  }

  void open_v4() {
    std::vector<const Interface*> with_v4;
    for (const auto& i : interfaces)
      if (!i.v4.empty()) with_v4.push_back(&i);
    if (with_v4.empty()) return;
    udp::socket s(executor);
    s.open(udp::v4());
    const int fd = s.native_handle();
    share_port(fd);
    boost::system::error_code ec;
    s.bind(udp::endpoint(asio::ip::make_address_v4("224.0.0.251"), mdns::kPort), ec);
    if (ec) {
      if (!options.allow_ephemeral_fallback)
        throw std::runtime_error("mdns: cannot bind 224.0.0.251:5353: " + ec.message());
      POSTHORN_LOG(Info, "mdns", "port 5353 is not shareable (", ec.message(),
                   "); using one-shot queries from an ephemeral port (RFC 6762 §5.1)");
      s.close();
      s.open(udp::v4());
      s.bind(udp::endpoint(udp::v4(), 0));
      shared_port = false;
    } else {
      int joined = 0;
      for (const auto* i : with_v4) {
        ip_mreqn req{};
        req.imr_multiaddr.s_addr = htonl(0xe00000fb); // 224.0.0.251
        req.imr_ifindex = static_cast<int>(i->index);
        if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof req) == 0) {
          ++joined;
        } else {
          POSTHORN_LOG(Info, "mdns", "cannot join 224.0.0.251 on ", i->name, ": ",
                       std::strerror(errno));
        }
      }
      if (joined == 0) return;
      // Only the group on the interfaces we joined, not every group any socket joined.
      set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL");
    }
    set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 255, "IP_MULTICAST_TTL"); // RFC 6762 §11
    // A responder on this very host (a browser next to us) must see our queries.
    set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1, "IP_MULTICAST_LOOP");
    s.non_blocking(true);
    sockets.push_back({std::move(s), IpFamily::V4, 0});
  }

  void open_v6() {
    for (const auto& i : interfaces) {
      if (i.v6.empty()) continue;
      try {
        udp::socket s(executor);
        s.open(udp::v6());
        const int fd = s.native_handle();
        set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
        share_port(fd);
        // Linux accepts a link-local multicast bind address only with a scope: one socket per
        // interface, which also binds the socket to that interface.
        s.bind(udp::endpoint(
            asio::ip::make_address_v6(asio::ip::address_v6::bytes_type{0xff, 2, 0, 0, 0, 0, 0, 0, 0,
                                                                       0, 0, 0, 0, 0, 0, 0xfb},
                                      i.index),
            mdns::kPort));
        ipv6_mreq req{};
        req.ipv6mr_multiaddr.s6_addr[0] = 0xff;
        req.ipv6mr_multiaddr.s6_addr[1] = 0x02;
        req.ipv6mr_multiaddr.s6_addr[15] = 0xfb;
        req.ipv6mr_interface = i.index;
        if (::setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &req, sizeof req) != 0)
          throw std::runtime_error(std::string("join ff02::fb: ") + std::strerror(errno));
        const int index = static_cast<int>(i.index);
        set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, index, "IPV6_MULTICAST_IF");
        set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255, "IPV6_MULTICAST_HOPS");
        set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1, "IPV6_MULTICAST_LOOP");
        s.non_blocking(true);
        sockets.push_back({std::move(s), IpFamily::V6, i.index});
      } catch (const std::exception& e) {
        POSTHORN_LOG(Info, "mdns", "no IPv6 mDNS on ", i.name, ": ", e.what());
      }
    }
  }

  void arm_read(Socket& s) {
    std::weak_ptr<bool> weak = alive;
    s.socket.async_wait(udp::socket::wait_read, [this, &s, weak](boost::system::error_code ec) {
      if (ec || weak.expired()) return;
      read(s);
      if (weak.expired()) return;
      arm_read(s);
    });
  }

  void read(Socket& s) {
    for (int n = 0; n < kMaxReadsPerWakeup; ++n) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      const auto got = ::recvfrom(s.socket.native_handle(), buffer.data(), buffer.size(),
                                  MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (got < 0) break; // EAGAIN ends the burst; ICMP errors are transient
      auto source = from_sockaddr(reinterpret_cast<const sockaddr*>(&from));
      if (!source) continue;
      if (!shared_port && s.family == IpFamily::V4 && !on_link(source->ip())) {
        // RFC 6762 §11: answers to a link-local query must come from the local link. On the
        // group-bound socket the destination guarantees it; a unicast port needs the check.
        ++stats.dropped_off_link;
        continue;
      }
      resolver->handle_datagram(Clock::now(), *source,
                                ByteView(buffer.data(), static_cast<std::size_t>(got)));
    }
    flush();
  }

  bool on_link(const IpAddress& ip) const {
    if (ip.is_link_local()) return true;
    for (const auto& i : interfaces)
      for (const auto* list : {&i.v4, &i.v6})
        for (const auto& s : *list)
          if (in_subnet(ip, s)) return true;
    return false;
  }

  void send(const mdns::Transmit& t) {
    for (auto& s : sockets) {
      if (s.family != t.destination.family()) continue;
      const int fd = s.socket.native_handle();
      if (s.family == IpFamily::V4) {
        for (const auto& i : interfaces) {
          if (i.v4.empty()) continue;
          ip_mreqn req{};
          req.imr_ifindex = static_cast<int>(i.index);
          set_option(fd, IPPROTO_IP, IP_MULTICAST_IF, &req, sizeof req, "IP_MULTICAST_IF");
          sockaddr_in to{};
          to.sin_family = AF_INET;
          to.sin_port = htons(t.destination.port());
          std::memcpy(&to.sin_addr, t.destination.ip().bytes().data(), 4);
          count_send(::sendto(fd, t.payload.data(), t.payload.size(), MSG_DONTWAIT,
                              reinterpret_cast<const sockaddr*>(&to), sizeof to));
        }
      } else {
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        to.sin6_port = htons(t.destination.port());
        std::memcpy(&to.sin6_addr, t.destination.ip().bytes().data(), 16);
        to.sin6_scope_id = s.ifindex;
        count_send(::sendto(fd, t.payload.data(), t.payload.size(), MSG_DONTWAIT,
                            reinterpret_cast<const sockaddr*>(&to), sizeof to));
      }
    }
  }

  void count_send(ssize_t rc) {
    if (rc < 0) {
      ++stats.send_errors; // the query is repeated at the next round anyway
      POSTHORN_LOG(Debug, "mdns", "sendto failed: ", std::strerror(errno));
    } else {
      ++stats.datagrams_sent;
    }
  }

  /// Drains transmits, then events, then re-arms the timer (STYLE.md drive rules). A handler may
  /// add work (resolve) or destroy us; the loop re-checks both.
  void flush() {
    if (flushing) return;
    flushing = true;
    std::weak_ptr<bool> weak = alive;
    for (;;) {
      while (auto t = resolver->poll_transmit())
        send(*t);
      auto e = resolver->poll_event();
      if (!e) break;
      auto [id, outcome] =
          std::visit(overloaded{[](mdns::Resolved& r) {
                                  return std::pair{r.id, result<IpAddress>(r.address)};
                                },
                                [](mdns::Failed& f) {
                                  return std::pair{f.id, result<IpAddress>(f.reason)};
                                }},
                     *e);
      auto h = handlers.find(id);
      if (h == handlers.end()) continue;
      auto handler = std::move(h->second);
      handlers.erase(h);
      if (handler) handler(outcome);
      if (weak.expired()) return; // the handler destroyed the MdnsSocket
    }
    flushing = false;
    arm_timer();
  }

  void post_flush() {
    if (flush_posted) return;
    flush_posted = true;
    std::weak_ptr<bool> weak = alive;
    asio::post(executor, [this, weak] {
      if (weak.expired()) return;
      flush_posted = false;
      flush();
    });
  }

  void arm_timer() {
    const auto next = resolver->poll_timeout();
    if (next == armed) return;
    armed = next;
    timer.cancel();
    if (!next) return;
    timer.expires_at(*next);
    std::weak_ptr<bool> weak = alive;
    timer.async_wait([this, weak](boost::system::error_code ec) {
      if (ec || weak.expired()) return;
      armed.reset();
      resolver->handle_timeout(Clock::now());
      flush();
    });
  }
};

MdnsSocket::MdnsSocket(asio::any_io_executor executor, MdnsSocketOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {
  auto& m = *impl_;
  m.choose_interfaces();
  if (m.options.ipv4) m.open_v4();
  if (m.options.ipv6) m.open_v6();
  if (m.sockets.empty())
    throw std::runtime_error("mdns: no multicast socket could be opened on any interface");
  auto config = m.options.resolver;
  config.destinations.clear();
  if (std::any_of(m.sockets.begin(), m.sockets.end(),
                  [](auto& s) { return s.family == IpFamily::V4; }))
    config.destinations.emplace_back(mdns::multicast_group_v4(), mdns::kPort);
  if (std::any_of(m.sockets.begin(), m.sockets.end(),
                  [](auto& s) { return s.family == IpFamily::V6; }))
    config.destinations.emplace_back(mdns::multicast_group_v6(), mdns::kPort);
  m.resolver.emplace(std::move(config));
  for (auto& s : m.sockets)
    m.arm_read(s);
}

MdnsSocket::~MdnsSocket() {
  *impl_->alive = false;
  impl_->timer.cancel();
  for (auto& s : impl_->sockets) {
    boost::system::error_code ignored;
    s.socket.close(ignored);
  }
}

result<mdns::QueryId> MdnsSocket::resolve(std::string_view name, ResolveHandler handler) {
  auto id = impl_->resolver->resolve(Clock::now(), name);
  if (!id) return id;
  impl_->handlers[*id] = std::move(handler);
  impl_->post_flush();
  return id;
}

void MdnsSocket::cancel(mdns::QueryId id) {
  impl_->resolver->cancel(id);
  impl_->handlers.erase(id);
  impl_->post_flush();
}

bool MdnsSocket::is_shared_port() const noexcept {
  return impl_->shared_port;
}

std::vector<std::string> MdnsSocket::interface_names() const {
  std::vector<std::string> out;
  for (const auto& i : impl_->interfaces)
    out.push_back(i.name);
  return out;
}

const mdns::Resolver& MdnsSocket::resolver() const noexcept {
  return *impl_->resolver;
}

const MdnsSocketStats& MdnsSocket::stats() const noexcept {
  return impl_->stats;
}

} // namespace posthorn::runtime
