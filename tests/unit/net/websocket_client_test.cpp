// WebSocketClient against an in-process Beast WebSocket server on 127.0.0.1 (ephemeral port),
// plain and over TLS, with the server misbehaving on request. Everything runs on one io_context in
// the test thread; every wait has a deadline that fails the test instead of hanging.
#include "net/byte_stream.hpp"
#include "net/errc.hpp"
#include "net/websocket_client.hpp"

#include "net_test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace posthorn::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using test::run_coro;
using test::run_until;
using namespace std::chrono_literals;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

enum class Mode {
  Echo,             // echo every message with the same kind
  Silent,           // accept TCP, never answer the upgrade
  Reject,           // answer the upgrade with 403
  WrongSubprotocol, // accept, naming a subprotocol the client did not offer
  CloseMidMessage,  // send half a frame, then drop the TCP connection
  CloseWithReason,  // send a close frame (4000, "bye")
  SendBig,          // send one 4096-byte binary message
  PingFirst,        // ping, wait for the pong, then send "after-pong"
  SendTextThenEcho, // send one text message, then echo
};

struct ServerLog {
  std::map<std::string, std::string> request_headers; // of the last upgrade request
  int connections = 0;
  bool got_pong = false;
  bool saw_client_close = false;
  std::vector<std::string> received;
};

template <bool Tls> class TestServer {
  using Next = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

public:
  TestServer(asio::io_context& io, Mode mode, asio::ssl::context* tls = nullptr)
      : io_(io), mode_(mode), tls_(tls), acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  ~TestServer() {
    error_code ignored;
    acceptor_.close(ignored);
  }

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  [[nodiscard]] Url url(std::string path = "/mqtt") const {
    return *parse_url(std::string(Tls ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(port()) +
                      path);
  }
  ServerLog& log() { return *log_; }

private:
  asio::awaitable<void> accept_loop() {
    auto log = log_;
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      ++log->connections;
      if (mode_ == Mode::Silent) {
        held_.push_back(std::move(socket)); // never answered
        continue;
      }
      asio::co_spawn(io_, session(std::move(socket), log), asio::detached);
    }
  }

  std::unique_ptr<websocket::stream<Next>> make_stream(tcp::socket socket) {
    if constexpr (Tls)
      return std::make_unique<websocket::stream<Next>>(std::move(socket), *tls_);
    else
      return std::make_unique<websocket::stream<Next>>(std::move(socket));
  }

  asio::awaitable<void> session(tcp::socket socket, std::shared_ptr<ServerLog> log) {
    auto ws = make_stream(std::move(socket));
    if constexpr (Tls) {
      auto [hec] =
          co_await ws->next_layer().async_handshake(asio::ssl::stream_base::server, kNoThrow);
      if (hec) co_return;
    }
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    auto [rec, n] = co_await http::async_read(ws->next_layer(), buffer, request, kNoThrow);
    if (rec) co_return;
    log->request_headers.clear();
    for (const auto& field : request)
      log->request_headers[std::string(field.name_string())] = std::string(field.value());

    if (mode_ == Mode::Reject) {
      http::response<http::string_body> response{http::status::forbidden, 11};
      response.body() = "go away";
      response.prepare_payload();
      co_await http::async_write(ws->next_layer(), response, kNoThrow);
      co_return;
    }
    const std::string offered(request[http::field::sec_websocket_protocol]);
    const std::string chosen = mode_ == Mode::WrongSubprotocol ? "other" : offered;
    ws->set_option(websocket::stream_base::decorator([chosen](websocket::response_type& r) {
      if (!chosen.empty()) r.set(http::field::sec_websocket_protocol, chosen);
    }));
    ws->control_callback([log](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong) log->got_pong = true;
    });
    auto [aec] = co_await ws->async_accept(request, kNoThrow);
    if (aec) co_return;

    switch (mode_) {
    case Mode::CloseMidMessage: {
      // A 256-byte binary frame header (RFC 6455 §5.2, unmasked from a server), 10 bytes of it.
      std::vector<std::uint8_t> partial{0x82, 126, 0x01, 0x00};
      partial.resize(partial.size() + 10, 0xAB);
      co_await asio::async_write(beast::get_lowest_layer(*ws).socket(), asio::buffer(partial),
                                 kNoThrow);
      beast::get_lowest_layer(*ws).close();
      co_return;
    }
    case Mode::CloseWithReason:
      co_await ws->async_close(
          websocket::close_reason(static_cast<websocket::close_code>(4000), "bye"), kNoThrow);
      co_return;
    case Mode::SendBig: {
      ws->binary(true);
      std::string big(4096, 'x');
      co_await ws->async_write(asio::buffer(big), kNoThrow);
      break;
    }
    case Mode::PingFirst: {
      co_await ws->async_ping({}, kNoThrow);
      // The pong arrives during a read; read until the client's first message.
      break;
    }
    case Mode::SendTextThenEcho: {
      ws->text(true);
      std::string hello = "hello";
      co_await ws->async_write(asio::buffer(hello), kNoThrow);
      break;
    }
    default: break;
    }

    for (;;) {
      beast::flat_buffer message;
      auto [ec, bytes] = co_await ws->async_read(message, kNoThrow);
      if (ec) {
        if (ec == websocket::error::closed) log->saw_client_close = true;
        co_return;
      }
      auto text = beast::buffers_to_string(message.data());
      log->received.push_back(text);
      if (mode_ == Mode::PingFirst) {
        ws->text(true);
        std::string reply = log->got_pong ? "after-pong" : "no-pong";
        co_await ws->async_write(asio::buffer(reply), kNoThrow);
        continue;
      }
      ws->text(ws->got_text());
      auto [wec, written] = co_await ws->async_write(message.data(), kNoThrow);
      if (wec) co_return;
    }
  }

  asio::io_context& io_;
  Mode mode_;
  asio::ssl::context* tls_;
  tcp::acceptor acceptor_;
  std::vector<tcp::socket> held_;
  std::shared_ptr<ServerLog> log_ = std::make_shared<ServerLog>();
};

/// A free loopback port with nobody listening (bound, then released).
std::uint16_t closed_port(asio::io_context& io) {
  tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto port = a.local_endpoint().port();
  a.close();
  return port;
}

class WebSocketClientTest : public ::testing::Test {
protected:
  result<void> connect_now(WebSocketClient& ws, const Url& url) {
    auto r = run_coro(io_, ws.connect(url), 10s, "connect");
    return r ? *r : result<void>(Errc::ConnectTimeout);
  }
  result<Message> read_now(WebSocketClient& ws) {
    auto r = run_coro(io_, ws.read(), 10s, "read");
    return r ? *r : result<Message>(Errc::ConnectTimeout);
  }

  asio::io_context io_;
};

TEST_F(WebSocketClientTest, EchoesTextAndBinaryMessages) {
  TestServer<false> server(io_, Mode::Echo);
  WebSocketClient ws(io_.get_executor());
  ASSERT_TRUE(connect_now(ws, server.url()));
  EXPECT_TRUE(ws.is_open());
  EXPECT_TRUE(ws.send_text("hello"));
  EXPECT_TRUE(ws.send_binary({0x00, 0xFF, 0x10}));
  auto text = read_now(ws);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->kind, MessageKind::Text);
  EXPECT_EQ(text->data, "hello");
  auto binary = read_now(ws);
  ASSERT_TRUE(binary);
  EXPECT_EQ(binary->kind, MessageKind::Binary);
  EXPECT_EQ(Bytes(binary->bytes().begin(), binary->bytes().end()), (Bytes{0x00, 0xFF, 0x10}));
}

TEST_F(WebSocketClientTest, OffersTheSubprotocolAndSendsExtraHeaders) {
  TestServer<false> server(io_, Mode::Echo);
  WebSocketClient ws(io_.get_executor(),
                     {.subprotocol = "mqtt", .headers = {{"X-Posthorn-Test", "42"}}});
  ASSERT_TRUE(connect_now(ws, server.url("/mqtt?x=1")));
  EXPECT_EQ(ws.subprotocol(), "mqtt");
  auto& h = server.log().request_headers;
  EXPECT_EQ(h["Sec-WebSocket-Protocol"], "mqtt");
  EXPECT_EQ(h["X-Posthorn-Test"], "42");
  EXPECT_EQ(h["User-Agent"], "posthorn");
  EXPECT_EQ(h["Host"], "127.0.0.1:" + std::to_string(server.port()));
}

TEST_F(WebSocketClientTest, FailsWhenTheServerPicksAnotherSubprotocol) {
  TestServer<false> server(io_, Mode::WrongSubprotocol);
  WebSocketClient ws(io_.get_executor(), {.subprotocol = "mqtt"});
  auto r = connect_now(ws, server.url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::SubprotocolMismatch);
  EXPECT_FALSE(ws.is_open());
}

TEST_F(WebSocketClientTest, ReportsARejectedUpgrade) {
  TestServer<false> server(io_, Mode::Reject);
  WebSocketClient ws(io_.get_executor());
  auto r = connect_now(ws, server.url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::UpgradeRejected);
}

TEST_F(WebSocketClientTest, ConnectionRefusedIsAClearErrorWithoutHanging) {
  WebSocketClient ws(io_.get_executor());
  const auto start = std::chrono::steady_clock::now();
  auto r = connect_now(ws, *parse_url("ws://127.0.0.1:" + std::to_string(closed_port(io_)) + "/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), asio::error::connection_refused);
  EXPECT_NE(r.error().message().find("refused"), std::string::npos) << r.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(WebSocketClientTest, TimesOutWhenTheServerNeverAnswersTheUpgrade) {
  TestServer<false> server(io_, Mode::Silent);
  WebSocketClient ws(io_.get_executor(), {.connect_timeout = 200ms});
  const auto start = std::chrono::steady_clock::now();
  auto r = connect_now(ws, server.url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::ConnectTimeout);
  EXPECT_EQ(r.error(), Condition::TimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(WebSocketClientTest, CloseDuringConnectAbortsPromptly) {
  TestServer<false> server(io_, Mode::Silent);
  WebSocketClient ws(io_.get_executor());
  std::optional<result<void>> outcome;
  asio::co_spawn(io_, ws.connect(server.url()),
                 [&](std::exception_ptr, result<void> r) { outcome = r; });
  ASSERT_TRUE(run_until(
      io_, [&] { return server.log().connections == 1; }, 5s, "tcp accept"));
  ws.close();
  ASSERT_TRUE(run_until(
      io_, [&] { return outcome.has_value(); }, 2s, "aborted connect"));
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error(), Errc::Closed);
}

TEST_F(WebSocketClientTest, ServerDroppingMidMessageFailsTheRead) {
  TestServer<false> server(io_, Mode::CloseMidMessage);
  WebSocketClient ws(io_.get_executor());
  ASSERT_TRUE(connect_now(ws, server.url()));
  auto r = read_now(ws);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::ClosedByPeer) << r.error().message();
  EXPECT_FALSE(ws.is_open());
  EXPECT_FALSE(ws.send_text("late"));
  auto again = read_now(ws); // later reads report the same failure
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), r.error());
}

TEST_F(WebSocketClientTest, OversizedMessageFailsTheConnection) {
  TestServer<false> server(io_, Mode::SendBig);
  WebSocketClient ws(io_.get_executor(), {.max_message_size = 1024});
  ASSERT_TRUE(connect_now(ws, server.url()));
  auto r = read_now(ws);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::MessageTooLarge);
  EXPECT_EQ(r.error(), Condition::ProtocolViolation);
}

TEST_F(WebSocketClientTest, ReportsTheServersCloseFrame) {
  TestServer<false> server(io_, Mode::CloseWithReason);
  WebSocketClient ws(io_.get_executor());
  ASSERT_TRUE(connect_now(ws, server.url()));
  auto r = read_now(ws);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::ClosedByPeer);
  EXPECT_EQ(ws.close_reason(), (std::pair<std::uint16_t, std::string>{4000, "bye"}));
}

TEST_F(WebSocketClientTest, AnswersServerPingsWhileReading) {
  TestServer<false> server(io_, Mode::PingFirst);
  WebSocketClient ws(io_.get_executor());
  ASSERT_TRUE(connect_now(ws, server.url()));
  std::optional<result<Message>> reply;
  asio::co_spawn(io_, ws.read(), [&](std::exception_ptr, result<Message> r) { reply = r; });
  ASSERT_TRUE(run_until(
      io_, [&] { return server.log().got_pong; }, 5s, "pong"));
  ws.send_text("go");
  ASSERT_TRUE(run_until(
      io_, [&] { return reply.has_value(); }, 5s, "reply"));
  ASSERT_TRUE(*reply);
  EXPECT_EQ((*reply)->data, "after-pong");
}

TEST_F(WebSocketClientTest, GracefulCloseFlushesTheQueueFirst) {
  TestServer<false> server(io_, Mode::Echo);
  WebSocketClient ws(io_.get_executor());
  ASSERT_TRUE(connect_now(ws, server.url()));
  std::optional<result<Message>> pending;
  asio::co_spawn(io_, ws.read(), [&](std::exception_ptr, result<Message> r) { pending = r; });
  ws.send_text("one");
  ws.send_text("two");
  ws.close();
  EXPECT_FALSE(ws.is_open());
  EXPECT_FALSE(ws.send_text("three")); // refused once closing
  ASSERT_TRUE(run_until(
      io_, [&] { return server.log().saw_client_close; }, 5s, "close frame"));
  EXPECT_EQ(server.log().received, (std::vector<std::string>{"one", "two"}));
  ASSERT_TRUE(run_until(
      io_, [&] { return pending.has_value(); }, 5s, "pending read"));
  // The read either got the first echo before the close, or ends with Closed.
  if (!*pending) {
    EXPECT_EQ(pending->error(), Errc::Closed);
  }
}

TEST_F(WebSocketClientTest, ConcurrentSendersNeverInterleave) {
  TestServer<false> server(io_, Mode::Echo);
  WebSocketClient ws(io_.get_executor(),
                     {.max_message_size = 1u << 20, .max_queued_bytes = 64u << 20});
  ASSERT_TRUE(connect_now(ws, server.url()));
  // Three callers, each queueing large messages between yields: a second concurrent async_write
  // in Beast would corrupt frames (and trips its soft-mutex assertion in debug builds).
  constexpr int kPerSender = 30;
  auto sender = [&](char tag) -> asio::awaitable<void> {
    for (int i = 0; i < kPerSender; ++i) {
      EXPECT_TRUE(ws.send_binary(Bytes(60'000 + static_cast<std::size_t>(i), std::uint8_t(tag))));
      asio::steady_timer yield(io_, 0ms);
      co_await yield.async_wait(asio::use_awaitable);
    }
  };
  for (char tag : {'a', 'b', 'c'})
    asio::co_spawn(io_, sender(tag), asio::detached);
  std::map<char, int> next;
  for (int n = 0; n < 3 * kPerSender; ++n) {
    auto m = read_now(ws);
    ASSERT_TRUE(m) << m.error().message();
    const char tag = m->data.front();
    EXPECT_EQ(m->data.size(), 60'000u + static_cast<std::size_t>(next[tag]));
    EXPECT_EQ(m->data.find_first_not_of(tag), std::string::npos) << "mixed bytes";
    ++next[tag];
  }
  EXPECT_EQ(next['a'], kPerSender);
  EXPECT_EQ(next['b'], kPerSender);
  EXPECT_EQ(next['c'], kPerSender);
}

TEST_F(WebSocketClientTest, DestroyingTheClientWithAPendingReadIsSafe) {
  TestServer<false> server(io_, Mode::Echo);
  auto ws = std::make_unique<WebSocketClient>(io_.get_executor());
  ASSERT_TRUE(connect_now(*ws, server.url()));
  std::optional<result<Message>> pending;
  asio::co_spawn(io_, ws->read(), [&](std::exception_ptr, result<Message> r) { pending = r; });
  io_.poll();
  ws.reset();
  ASSERT_TRUE(run_until(
      io_, [&] { return pending.has_value(); }, 5s, "read after destroy"));
  ASSERT_FALSE(*pending);
  EXPECT_EQ(pending->error(), Errc::Closed);
  ASSERT_TRUE(run_until(
      io_, [&] { return server.log().saw_client_close; }, 5s, "close frame"));
}

TEST_F(WebSocketClientTest, RefusesUseBeforeConnectAndAfterClose) {
  WebSocketClient ws(io_.get_executor());
  EXPECT_FALSE(ws.send_text("x"));
  auto r = read_now(ws);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::NotConnected);
  ws.close();
  auto c = connect_now(ws, *parse_url("ws://127.0.0.1:1/"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), Errc::Closed);
}

TEST_F(WebSocketClientTest, RejectsNonWebSocketUrls) {
  WebSocketClient ws(io_.get_executor());
  auto r = connect_now(ws, *parse_url("mqtt://127.0.0.1"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::UnsupportedScheme);
}

// ---- TLS ----

class WebSocketTlsTest : public WebSocketClientTest {
protected:
  void SetUp() override {
    server_tls_.use_certificate_chain(asio::buffer(cert_.cert_pem()));
    server_tls_.use_private_key(asio::buffer(cert_.key_pem()), asio::ssl::context::pem);
  }
  test::TestCertificate cert_;
  asio::ssl::context server_tls_{asio::ssl::context::tls_server};
};

TEST_F(WebSocketTlsTest, ConnectsWhenTrustingTheGivenCa) {
  TestServer<true> server(io_, Mode::Echo, &server_tls_);
  WebSocketClient ws(io_.get_executor(),
                     {.subprotocol = "mqtt", .tls = {.ca_file = cert_.ca_file()}});
  ASSERT_TRUE(connect_now(ws, server.url()));
  EXPECT_EQ(ws.subprotocol(), "mqtt");
  ws.send_text("secret");
  auto m = read_now(ws);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->data, "secret");
}

TEST_F(WebSocketTlsTest, RejectsAnUntrustedCertificate) {
  TestServer<true> server(io_, Mode::Echo, &server_tls_);
  WebSocketClient ws(io_.get_executor()); // system CA store: does not know the test CA
  auto r = connect_now(ws, server.url());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
}

TEST_F(WebSocketTlsTest, RejectsACertificateForAnotherName) {
  TestServer<true> server(io_, Mode::Echo, &server_tls_); // certificate names only 127.0.0.1
  WebSocketClient ws(io_.get_executor(), {.tls = {.ca_file = cert_.ca_file()}});
  auto r = connect_now(ws, *parse_url("wss://localhost:" + std::to_string(server.port()) + "/"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
}

TEST_F(WebSocketTlsTest, ConnectsWithVerificationDisabled) {
  TestServer<true> server(io_, Mode::Echo, &server_tls_);
  WebSocketClient ws(io_.get_executor(), {.tls = {.verify_peer = false}});
  ASSERT_TRUE(connect_now(ws, server.url()));
}

TEST_F(WebSocketTlsTest, MissingCaFileIsASetupError) {
  TestServer<true> server(io_, Mode::Echo, &server_tls_);
  WebSocketClient ws(io_.get_executor(), {.tls = {.ca_file = "/nonexistent/ca.pem"}});
  auto r = connect_now(ws, server.url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::TlsSetupFailed);
}

// ---- ByteStream over WebSocket ----

TEST_F(WebSocketClientTest, ByteStreamCarriesBinaryMessages) {
  TestServer<false> server(io_, Mode::Echo);
  auto url = server.url();
  auto stream = make_byte_stream(io_.get_executor(), url, {.websocket_subprotocol = "mqtt"});
  ASSERT_TRUE(stream);
  auto c = run_coro(io_, (*stream)->connect(url), 5s, "connect");
  ASSERT_TRUE(c && *c);
  EXPECT_EQ(server.log().request_headers["Sec-WebSocket-Protocol"], "mqtt");
  EXPECT_TRUE((*stream)->send({1, 2, 3}));
  auto r = run_coro(io_, (*stream)->read(), 5s, "read");
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(**r, (Bytes{1, 2, 3}));
}

TEST_F(WebSocketClientTest, ByteStreamRejectsTextMessages) {
  TestServer<false> server(io_, Mode::SendTextThenEcho);
  auto url = server.url();
  auto stream = make_byte_stream(io_.get_executor(), url, {});
  ASSERT_TRUE(stream);
  auto c = run_coro(io_, (*stream)->connect(url), 5s, "connect");
  ASSERT_TRUE(c && *c);
  auto r = run_coro(io_, (*stream)->read(), 5s, "read");
  ASSERT_TRUE(r);
  ASSERT_FALSE(*r);
  EXPECT_EQ(r->error(), Errc::TextOnByteStream);
}

TEST(ByteStream, RejectsUnknownSchemes) {
  asio::io_context io;
  Url url{.scheme = "http", .host = "h", .port = 80};
  auto stream = make_byte_stream(io.get_executor(), url, {});
  ASSERT_FALSE(stream);
  EXPECT_EQ(stream.error(), Errc::UnsupportedScheme);
}

} // namespace
} // namespace posthorn::net
