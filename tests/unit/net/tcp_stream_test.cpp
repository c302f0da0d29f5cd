// TcpStream (mqtt://, tcp://, mqtts://, tls://) against in-process Asio servers on 127.0.0.1.
#include "net/errc.hpp"
#include "net/tcp_stream.hpp"

#include "net_test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <vector>

namespace posthorn::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using test::run_coro;
using test::run_until;
using namespace std::chrono_literals;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

enum class Mode { Echo, Silent, SendThenDrop };

struct ServerLog {
  int connections = 0;
  Bytes received;
  bool saw_eof = false;
};

/// Echo server; with `tls` the connection is TLS (the handshake runs before anything else).
class TestServer {
public:
  TestServer(asio::io_context& io, Mode mode, asio::ssl::context* tls = nullptr)
      : io_(io), mode_(mode), tls_(tls), acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  ~TestServer() {
    error_code ignored;
    acceptor_.close(ignored);
  }
  [[nodiscard]] Url url(const char* scheme) const {
    return *parse_url(std::string(scheme) +
                      "://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()));
  }
  ServerLog& log() { return *log_; }

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      ++log_->connections;
      if (mode_ == Mode::Silent) {
        held_.push_back(std::move(socket));
        continue;
      }
      if (tls_) {
        auto stream = std::make_shared<asio::ssl::stream<tcp::socket>>(std::move(socket), *tls_);
        asio::co_spawn(io_, serve_tls(stream, log_), asio::detached);
      } else {
        asio::co_spawn(io_, serve(std::make_shared<tcp::socket>(std::move(socket)), log_),
                       asio::detached);
      }
    }
  }

  template <class Stream>
  asio::awaitable<void> echo(std::shared_ptr<Stream> stream, std::shared_ptr<ServerLog> log) {
    if (mode_ == Mode::SendThenDrop) {
      const Bytes hello{'h', 'i'};
      co_await asio::async_write(*stream, asio::buffer(hello), kNoThrow);
      co_return; // the stream is destroyed: the connection drops
    }
    std::vector<std::uint8_t> buffer(4096);
    for (;;) {
      auto [ec, n] = co_await stream->async_read_some(asio::buffer(buffer), kNoThrow);
      if (ec) {
        log->saw_eof = true;
        co_return;
      }
      log->received.insert(log->received.end(), buffer.begin(), buffer.begin() + n);
      auto [wec, w] = co_await asio::async_write(*stream, asio::buffer(buffer, n), kNoThrow);
      if (wec) co_return;
    }
  }

  asio::awaitable<void> serve(std::shared_ptr<tcp::socket> socket, std::shared_ptr<ServerLog> log) {
    co_await echo(socket, log);
  }

  asio::awaitable<void> serve_tls(std::shared_ptr<asio::ssl::stream<tcp::socket>> stream,
                                  std::shared_ptr<ServerLog> log) {
    auto [ec] = co_await stream->async_handshake(asio::ssl::stream_base::server, kNoThrow);
    if (ec) co_return;
    co_await echo(stream, log);
  }

  asio::io_context& io_;
  Mode mode_;
  asio::ssl::context* tls_;
  tcp::acceptor acceptor_;
  std::vector<tcp::socket> held_;
  std::shared_ptr<ServerLog> log_ = std::make_shared<ServerLog>();
};

class TcpStreamTest : public ::testing::Test {
protected:
  result<void> connect_now(TcpStream& s, const Url& url) {
    auto r = run_coro(io_, s.connect(url), 10s, "connect");
    return r ? *r : result<void>(Errc::ConnectTimeout);
  }
  /// Reads until `n` bytes arrived (TCP may split them).
  result<Bytes> read_exactly(TcpStream& s, std::size_t n) {
    Bytes out;
    while (out.size() < n) {
      auto r = run_coro(io_, s.read(), 10s, "read");
      if (!r) return Errc::ConnectTimeout;
      if (!*r) return r->error();
      out.insert(out.end(), (*r)->begin(), (*r)->end());
    }
    return out;
  }
  asio::io_context io_;
};

TEST_F(TcpStreamTest, EchoesOverPlainTcp) {
  TestServer server(io_, Mode::Echo);
  for (const char* scheme : {"mqtt", "tcp"}) {
    TcpStream s(io_.get_executor());
    ASSERT_TRUE(connect_now(s, server.url(scheme)));
    EXPECT_TRUE(s.is_open());
    EXPECT_TRUE(s.send({1, 2, 3}));
    EXPECT_TRUE(s.send({4, 5}));
    auto r = read_exactly(s, 5);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (Bytes{1, 2, 3, 4, 5}));
  }
}

TEST_F(TcpStreamTest, QueuedWritesKeepTheirOrder) {
  TestServer server(io_, Mode::Echo);
  TcpStream s(io_.get_executor(), {.max_queued_bytes = 64u << 20});
  ASSERT_TRUE(connect_now(s, server.url("tcp")));
  Bytes expected;
  for (int i = 0; i < 50; ++i) {
    Bytes chunk(20'000, static_cast<std::uint8_t>(i));
    expected.insert(expected.end(), chunk.begin(), chunk.end());
    ASSERT_TRUE(s.send(std::move(chunk)));
  }
  auto r = read_exactly(s, expected.size());
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, expected);
}

TEST_F(TcpStreamTest, RefusesToQueueBeyondTheLimit) {
  TestServer server(io_, Mode::Silent);
  TcpStream s(io_.get_executor(), {.max_queued_bytes = 1000});
  ASSERT_TRUE(connect_now(s, server.url("tcp")));
  EXPECT_TRUE(s.send(Bytes(600, 1)));
  EXPECT_FALSE(s.send(Bytes(600, 2)));
  EXPECT_FALSE(s.send({}));
}

TEST_F(TcpStreamTest, PeerDropReportsClosedByPeer) {
  TestServer server(io_, Mode::SendThenDrop);
  TcpStream s(io_.get_executor());
  ASSERT_TRUE(connect_now(s, server.url("tcp")));
  auto hello = read_exactly(s, 2);
  ASSERT_TRUE(hello);
  auto r = run_coro(io_, s.read(), 5s, "read after drop");
  ASSERT_TRUE(r);
  ASSERT_FALSE(*r);
  EXPECT_EQ(r->error(), Errc::ClosedByPeer);
  EXPECT_FALSE(s.is_open());
}

TEST_F(TcpStreamTest, ConnectionRefusedIsAClearError) {
  tcp::acceptor a(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = a.local_endpoint().port();
  a.close();
  TcpStream s(io_.get_executor());
  auto r = connect_now(s, *parse_url("mqtt://127.0.0.1:" + std::to_string(port)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), asio::error::connection_refused);
}

TEST_F(TcpStreamTest, CloseFlushesThenEnds) {
  TestServer server(io_, Mode::Echo);
  TcpStream s(io_.get_executor());
  ASSERT_TRUE(connect_now(s, server.url("tcp")));
  std::optional<result<Bytes>> pending;
  asio::co_spawn(io_, s.read(), [&](std::exception_ptr, result<Bytes> r) { pending = r; });
  s.send({9, 9, 9});
  s.close();
  EXPECT_FALSE(s.send({1}));
  ASSERT_TRUE(run_until(
      io_, [&] { return server.log().saw_eof; }, 5s, "server sees EOF"));
  EXPECT_EQ(server.log().received, (Bytes{9, 9, 9}));
  ASSERT_TRUE(run_until(
      io_, [&] { return pending.has_value(); }, 5s, "pending read"));
  ASSERT_FALSE(*pending);
  EXPECT_EQ(pending->error(), Errc::Closed);
}

TEST_F(TcpStreamTest, DestroyingWithAPendingReadIsSafe) {
  TestServer server(io_, Mode::Echo);
  auto s = std::make_unique<TcpStream>(io_.get_executor());
  ASSERT_TRUE(connect_now(*s, server.url("tcp")));
  std::optional<result<Bytes>> pending;
  asio::co_spawn(io_, s->read(), [&](std::exception_ptr, result<Bytes> r) { pending = r; });
  io_.poll();
  s.reset();
  ASSERT_TRUE(run_until(
      io_, [&] { return pending.has_value(); }, 5s, "read after destroy"));
  ASSERT_FALSE(*pending);
  EXPECT_EQ(pending->error(), Errc::Closed);
}

TEST_F(TcpStreamTest, RejectsWebSocketUrls) {
  TcpStream s(io_.get_executor());
  auto r = connect_now(s, *parse_url("ws://127.0.0.1:1/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::UnsupportedScheme);
}

class TcpStreamTlsTest : public TcpStreamTest {
protected:
  void SetUp() override {
    server_tls_.use_certificate_chain(asio::buffer(cert_.cert_pem()));
    server_tls_.use_private_key(asio::buffer(cert_.key_pem()), asio::ssl::context::pem);
  }
  test::TestCertificate cert_;
  asio::ssl::context server_tls_{asio::ssl::context::tls_server};
};

TEST_F(TcpStreamTlsTest, EchoesOverTlsWithTheGivenCa) {
  TestServer server(io_, Mode::Echo, &server_tls_);
  for (const char* scheme : {"mqtts", "tls"}) {
    TcpStream s(io_.get_executor(), {.tls = {.ca_file = cert_.ca_file()}});
    ASSERT_TRUE(connect_now(s, server.url(scheme)));
    s.send({7, 8});
    auto r = read_exactly(s, 2);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (Bytes{7, 8}));
  }
}

TEST_F(TcpStreamTlsTest, CloseSendsCloseNotifyAndEndsThePendingRead) {
  TestServer server(io_, Mode::Echo, &server_tls_);
  TcpStream s(io_.get_executor(), {.tls = {.ca_file = cert_.ca_file()}});
  ASSERT_TRUE(connect_now(s, server.url("tls")));
  std::optional<result<Bytes>> pending;
  asio::co_spawn(io_, s.read(), [&](std::exception_ptr, result<Bytes> r) { pending = r; });
  s.send({1, 2});
  s.close();
  ASSERT_TRUE(run_until(
      io_, [&] { return server.log().saw_eof; }, 5s, "server sees the close"));
  EXPECT_EQ(server.log().received, (Bytes{1, 2}));
  ASSERT_TRUE(run_until(
      io_, [&] { return pending.has_value(); }, 5s, "pending read"));
  // TLS waits for the server's close_notify, so the echo may still arrive first.
  if (*pending) {
    EXPECT_EQ(**pending, (Bytes{1, 2}));
    auto next = run_coro(io_, s.read(), 5s, "read after the echo");
    ASSERT_TRUE(next);
    pending = *next;
  }
  ASSERT_FALSE(*pending);
  EXPECT_EQ(pending->error(), Errc::Closed);
}

TEST_F(TcpStreamTlsTest, RejectsAnUntrustedCertificate) {
  TestServer server(io_, Mode::Echo, &server_tls_);
  TcpStream s(io_.get_executor());
  auto r = connect_now(s, server.url("mqtts"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
}

TEST_F(TcpStreamTlsTest, TimesOutWhenTheServerNeverHandshakes) {
  TestServer server(io_, Mode::Silent, &server_tls_);
  TcpStream s(io_.get_executor(), {.connect_timeout = 200ms, .tls = {.verify_peer = false}});
  auto r = connect_now(s, server.url("tls"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::ConnectTimeout);
}

} // namespace
} // namespace posthorn::net
