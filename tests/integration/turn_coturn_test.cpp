// The sans-IO TURN client against a real coturn on loopback, driven by hand over real sockets:
// allocation over UDP and TCP, data through the relay to a plain UDP echo socket (Send/Data
// indications and ChannelData), refresh, stale nonces, bad credentials, and release on close.
//
// Time: the client's clock is the steady clock plus a skew the test can jump forward, so a
// refresh due in nine minutes is exercised against the real server in milliseconds.
#include "coturn_server.hpp"

#include "core/overloaded.hpp"
#include "ice/turn_client.hpp"
#include "ice/turn_errc.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <memory>

namespace posthorn {
namespace {

using namespace std::chrono_literals;
using ice::TurnClient;
using ice::TurnEvent;
using ice::TurnServerConfig;
using ice::TurnTransport;
namespace turn_event = ice::turn_event;

sockaddr_in to_sockaddr(const SocketAddress& a) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(a.port());
  s.sin_addr.s_addr = htonl(a.ip().v4_host_order());
  return s;
}

SocketAddress from_sockaddr(const sockaddr_in& s) {
  return SocketAddress(IpAddress::v4(ntohl(s.sin_addr.s_addr)), ntohs(s.sin_port));
}

/// A non-blocking socket on 127.0.0.1: UDP (bound to an ephemeral port) or TCP (connected).
class Socket {
public:
  static std::unique_ptr<Socket> udp() {
    auto s = std::unique_ptr<Socket>(new Socket(SOCK_DGRAM));
    auto a = to_sockaddr(SocketAddress(IpAddress::v4(0x7f000001), 0));
    EXPECT_EQ(::bind(s->fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return s;
  }
  static std::unique_ptr<Socket> tcp(const SocketAddress& server) {
    auto s = std::unique_ptr<Socket>(new Socket(SOCK_STREAM));
    auto a = to_sockaddr(server);
    // Blocking connect (loopback answers at once), then non-blocking like the UDP socket.
    ::fcntl(s->fd_, F_SETFL, ::fcntl(s->fd_, F_GETFL) & ~O_NONBLOCK);
    EXPECT_EQ(::connect(s->fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::fcntl(s->fd_, F_SETFL, ::fcntl(s->fd_, F_GETFL) | O_NONBLOCK);
    return s;
  }
  ~Socket() { ::close(fd_); }

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] SocketAddress local() const {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    return from_sockaddr(a);
  }
  void send_to(const SocketAddress& to, ByteView data) {
    auto a = to_sockaddr(to);
    ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  void send(ByteView data) {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EAGAIN) {
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, 100);
      } else {
        return;
      }
    }
  }
  /// One datagram (UDP) or whatever bytes are there (TCP); nullopt when nothing is waiting;
  /// an empty chunk means the TCP peer closed.
  std::optional<std::pair<SocketAddress, Bytes>> receive() {
    Bytes buf(65536);
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n =
        ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return std::pair{from_sockaddr(from), std::move(buf)};
  }

private:
  explicit Socket(int type) : fd_(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {}
  int fd_;
};

/// A plain UDP peer on 127.0.0.1 that sends every datagram back to where it came from.
struct EchoPeer {
  std::unique_ptr<Socket> socket = Socket::udp();
  std::vector<SocketAddress> sources;
  void serve() {
    while (auto d = socket->receive()) {
      sources.push_back(d->first);
      socket->send_to(d->first, d->second);
    }
  }
};

/// Drives one TurnClient over a real socket to the server.
class Driver {
public:
  Driver(const test::CoturnServer& server, TurnTransport transport, std::string password,
         bool use_channels = true)
      : server_(server), transport_(transport) {
    socket_ = transport == TurnTransport::Udp ? Socket::udp() : Socket::tcp(server.address());
    reset(std::move(password), use_channels);
  }

  /// A new client on the same socket (the same 5-tuple at the server).
  void reset(std::string password, bool use_channels = true) {
    TurnServerConfig config;
    config.server = server_.address();
    config.transport = transport_;
    config.username = server_.user();
    config.password = std::move(password);
    config.use_channels = use_channels;
    client = std::make_unique<TurnClient>(config, rng_);
    events.clear();
  }

  [[nodiscard]] TimePoint now() const { return Clock::now() + skew_; }
  /// Jumps the client's clock forward (the server's clock is real).
  void skip_ahead(Duration d) {
    skew_ += d;
    client->handle_timeout(now());
  }
  Socket& socket() { return *socket_; }

  /// Pumps socket, timers and the echo peer until `done()` or the real-time budget is spent.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds budget = 5000ms,
                 EchoPeer* echo = nullptr) {
    const auto deadline = Clock::now() + budget;
    for (;;) {
      while (auto b = client->poll_transmit()) {
        if (transport_ == TurnTransport::Udp)
          socket_->send_to(server_.address(), *b);
        else
          socket_->send(*b);
      }
      while (auto e = client->poll_event())
        events.push_back(std::move(*e));
      if (done()) return true;
      if (Clock::now() >= deadline) return false;

      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (auto t = client->poll_timeout())
        wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(*t - now()));
      wait = std::clamp(wait, 0ms, 50ms);
      pollfd fds[2] = {{socket_->fd(), POLLIN, 0}, {echo ? echo->socket->fd() : -1, POLLIN, 0}};
      ::poll(fds, echo ? 2 : 1, static_cast<int>(wait.count()));
      if (echo) echo->serve();
      while (auto d = socket_->receive()) {
        if (transport_ == TurnTransport::Udp) {
          if (d->first == server_.address()) client->handle_datagram(now(), d->second);
        } else if (d->second.empty()) {
          client->handle_transport_closed(now());
          break;
        } else {
          client->handle_stream_bytes(now(), d->second);
        }
      }
      if (auto t = client->poll_timeout(); t && *t <= now()) client->handle_timeout(now());
    }
  }

  template <class E> [[nodiscard]] const E* find() const {
    for (const auto& e : events)
      if (const auto* p = std::get_if<E>(&e)) return p;
    return nullptr;
  }
  template <class E> bool wait_for(std::chrono::milliseconds budget = 5000ms) {
    return run_until([&] { return find<E>() != nullptr; }, budget);
  }
  /// Allocates and fails the test with the server's log if that does not work.
  void allocate() {
    client->start(now());
    ASSERT_TRUE(run_until([&] {
      return find<turn_event::Allocated>() || find<turn_event::AllocationFailed>();
    })) << server_.log_tail();
    if (const auto* f = find<turn_event::AllocationFailed>())
      FAIL() << f->reason << "\n" << server_.log_tail();
  }
  /// Sends `text` to the echo peer through the relay and waits for it to come back.
  void echo_round_trip(EchoPeer& echo, const std::string& text) {
    const auto before = count_peer_data();
    ASSERT_TRUE(client->send_to(now(), echo.socket->local(), as_bytes(text)));
    ASSERT_TRUE(run_until([&] { return count_peer_data() > before; }, 5000ms, &echo))
        << "no echo of '" << text << "'\n"
        << server_.log_tail();
    const auto back = peer_data().back();
    EXPECT_EQ(back.from, echo.socket->local());
    EXPECT_EQ(as_string_view(back.data), text);
    ASSERT_FALSE(echo.sources.empty());
    EXPECT_EQ(echo.sources.back(), client->relayed_address()); // it came out of the relay
  }
  std::vector<turn_event::PeerData> peer_data() const {
    std::vector<turn_event::PeerData> out;
    for (const auto& e : events)
      if (const auto* p = std::get_if<turn_event::PeerData>(&e)) out.push_back(*p);
    return out;
  }
  std::size_t count_peer_data() const { return peer_data().size(); }

  std::unique_ptr<TurnClient> client;
  std::vector<TurnEvent> events;

private:
  const test::CoturnServer& server_;
  TurnTransport transport_;
  CryptoRng rng_;
  std::unique_ptr<Socket> socket_;
  Duration skew_{};
};

class TurnAgainstCoturn : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!test::CoturnServer::available()) return;
    server_ = std::make_unique<test::CoturnServer>();
  }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    if (!test::CoturnServer::available()) GTEST_SKIP() << test::CoturnServer::skip_reason();
    ASSERT_TRUE(server_);
  }
  static const test::CoturnServer& server() { return *server_; }

  static std::unique_ptr<test::CoturnServer> server_;
};
std::unique_ptr<test::CoturnServer> TurnAgainstCoturn::server_;

TEST_F(TurnAgainstCoturn, AllocatesOverUdp) {
  Driver d(server(), TurnTransport::Udp, server().password());
  d.allocate();
  const auto* a = d.find<turn_event::Allocated>();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->relayed.ip(), IpAddress::v4(0x7f000001));
  EXPECT_GE(a->relayed.port(), server().min_relay_port());
  EXPECT_LE(a->relayed.port(), server().max_relay_port());
  EXPECT_EQ(a->mapped, d.socket().local());
  EXPECT_EQ(a->lifetime, seconds(600));
  EXPECT_EQ(d.client->stats().dropped_unauthenticated, 0u);
}

TEST_F(TurnAgainstCoturn, RelaysThroughSendAndDataIndications) {
  Driver d(server(), TurnTransport::Udp, server().password(), /*use_channels=*/false);
  d.allocate();
  EchoPeer echo;
  d.echo_round_trip(echo, "hello via Send indication");
  d.echo_round_trip(echo, "and again");
  EXPECT_EQ(d.client->stats().send_indications_sent, 2u);
  EXPECT_EQ(d.client->stats().data_indications_received, 2u);
  EXPECT_EQ(d.client->stats().channel_data_sent, 0u);
}

TEST_F(TurnAgainstCoturn, RelaysThroughChannelDataAfterChannelBind) {
  Driver d(server(), TurnTransport::Udp, server().password());
  d.allocate();
  EchoPeer echo;
  d.echo_round_trip(echo, "first, queued behind the ChannelBind");
  EXPECT_TRUE(d.client->has_channel(echo.socket->local()));
  d.echo_round_trip(echo, "second, straight as ChannelData");
  EXPECT_EQ(d.client->stats().channel_data_sent, 2u);
  EXPECT_EQ(d.client->stats().channel_data_received, 2u);
  EXPECT_EQ(d.client->stats().send_indications_sent, 0u);
}

TEST_F(TurnAgainstCoturn, AllocatesAndRelaysOverTcp) {
  Driver d(server(), TurnTransport::Tcp, server().password());
  d.allocate();
  EXPECT_EQ(d.find<turn_event::Allocated>()->mapped, d.socket().local());
  EchoPeer echo;
  // A permission first: the first datagram then goes as a Send indication (with a ChannelBind
  // alongside), the next ones as padded ChannelData.
  ASSERT_TRUE(d.client->add_permission(d.now(), echo.socket->local().ip()));
  ASSERT_TRUE(d.run_until([&] { return d.client->has_permission(echo.socket->local().ip()); }))
      << server().log_tail();
  d.echo_round_trip(echo, "tcp via Send indication");
  ASSERT_TRUE(d.run_until([&] { return d.client->has_channel(echo.socket->local()); }));
  d.echo_round_trip(echo, "tcp via ChannelData, 4-byte padded");
  EXPECT_EQ(d.client->stats().send_indications_sent, 1u);
  EXPECT_EQ(d.client->stats().channel_data_sent, 1u);
  EXPECT_GE(d.client->stats().data_indications_received + d.client->stats().channel_data_received,
            2u);
  EXPECT_EQ(d.client->stats().dropped_malformed, 0u);
}

TEST_F(TurnAgainstCoturn, RefreshesAllocationPermissionAndChannel) {
  Driver d(server(), TurnTransport::Udp, server().password());
  d.allocate();
  EchoPeer echo;
  d.echo_round_trip(echo, "before");
  // Nine minutes later by the client's clock: the allocation (600 s), the permission (300 s)
  // and the channel (600 s) are all due one minute before they expire.
  d.skip_ahead(seconds(541));
  ASSERT_TRUE(d.run_until([&] {
    const auto& s = d.client->stats();
    return s.allocation_refreshes == 1 && s.permission_refreshes >= 1 && s.channel_refreshes == 1;
  })) << server().log_tail();
  EXPECT_EQ(d.client->state(), ice::TurnState::Allocated);
  EXPECT_EQ(d.find<turn_event::AllocationFailed>(), nullptr);
  d.echo_round_trip(echo, "after");
}

TEST_F(TurnAgainstCoturn, BadPasswordFailsFastWithAClearMessage) {
  for (auto transport : {TurnTransport::Udp, TurnTransport::Tcp}) {
    Driver d(server(), transport, "not-the-password");
    const auto started = Clock::now();
    d.client->start(d.now());
    ASSERT_TRUE(d.wait_for<turn_event::AllocationFailed>(3000ms)) << "no failure within 3 s";
    const auto* f = d.find<turn_event::AllocationFailed>();
    EXPECT_EQ(f->error, ice::TurnErrc::Unauthorized);
    EXPECT_EQ(f->error, Condition::AuthFailed);
    EXPECT_EQ(f->stun_code, 401);
    EXPECT_NE(f->reason.find("401 Unauthorized: bad credentials"), std::string::npos) << f->reason;
    EXPECT_NE(f->reason.find(server().realm()), std::string::npos) << f->reason;
    EXPECT_LT(Clock::now() - started, 1s);
    EXPECT_EQ(d.client->poll_timeout(), std::nullopt); // nothing left to retry
  }
}

TEST_F(TurnAgainstCoturn, CloseReleasesTheAllocation) {
  Driver d(server(), TurnTransport::Udp, server().password());
  d.allocate();
  // Control: while it exists, another Allocate on the same 5-tuple is a 437 (RFC 8656 §7.2).
  {
    std::vector<TurnEvent> saved = d.events;
    auto first = std::move(d.client);
    d.reset(server().password());
    d.client->start(d.now());
    ASSERT_TRUE(d.wait_for<turn_event::AllocationFailed>());
    EXPECT_EQ(d.find<turn_event::AllocationFailed>()->error, ice::TurnErrc::AllocationMismatch);
    d.client = std::move(first);
    d.events = saved;
  }
  d.client->close(d.now());
  ASSERT_TRUE(d.wait_for<turn_event::Closed>()) << server().log_tail();
  EXPECT_EQ(d.client->state(), ice::TurnState::Closed);
  // Released: the same 5-tuple can allocate afresh. coturn answers Refresh(0) at once but
  // deletes the allocation on a timer one second later (its refresh_relay_connection() clamps
  // the lifetime to 1 s), so a new Allocate may meet 437 for up to ~2 s.
  const auto deadline = Clock::now() + 5s;
  bool allocated = false;
  while (!allocated && Clock::now() < deadline) {
    d.reset(server().password());
    d.client->start(d.now());
    ASSERT_TRUE(d.run_until(
        [&] { return d.find<turn_event::Allocated>() || d.find<turn_event::AllocationFailed>(); }));
    allocated = d.find<turn_event::Allocated>() != nullptr;
    if (!allocated) {
      EXPECT_EQ(d.find<turn_event::AllocationFailed>()->error, ice::TurnErrc::AllocationMismatch);
      d.run_until([] { return false; }, 250ms);
    }
  }
  EXPECT_TRUE(allocated) << "the allocation was not released\n" << server().log_tail();
}

TEST_F(TurnAgainstCoturn, CloseOverTcpReportsClosed) {
  Driver d(server(), TurnTransport::Tcp, server().password());
  d.allocate();
  d.client->close(d.now());
  ASSERT_TRUE(d.wait_for<turn_event::Closed>()) << server().log_tail();
}

TEST(TurnAgainstCoturnNonces, StaleNonceIsRenewedTransparently) {
  if (!test::CoturnServer::available()) GTEST_SKIP() << test::CoturnServer::skip_reason();
  test::CoturnServer server({.extra_config = {"stale-nonce=1"}});
  Driver d(server, TurnTransport::Udp, server.password());
  d.allocate();
  // Let the nonce age past its one-second lifetime. coturn compares whole seconds of its
  // coarse clock (nonce_expiration_time < ctime), so "one second" can take almost three.
  d.run_until([] { return false; }, 3100ms);
  EchoPeer echo;
  d.echo_round_trip(echo, "after the nonce went stale");
  EXPECT_GE(d.client->stats().stale_nonce_retries, 1u) << server.log_tail();
  EXPECT_EQ(d.find<turn_event::AllocationFailed>(), nullptr);
}

} // namespace
} // namespace posthorn
