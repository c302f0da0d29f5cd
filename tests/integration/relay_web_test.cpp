// `posthorn relay --web DIR`: the real server answers plain HTTP GET/HEAD from DIR and still
// upgrades WebSocket connections on the same port (the browser demo page and its relay).
#include "net/websocket_client.hpp"
#include "relay/ws_server.hpp"
#include "signal/wsrelay_codec.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

namespace posthorn {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

/// Sends raw request bytes on a fresh connection and returns everything the server sent until
/// it closed the connection.
asio::awaitable<std::string> exchange(std::uint16_t port, std::string request) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
  co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
  std::string response;
  char chunk[4096];
  for (;;) {
    auto [ec, n] =
        co_await socket.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    response.append(chunk, n);
    if (ec) break; // eof: the server closed, as asked by Connection: close
  }
  co_return response;
}

std::string get(const std::string& target, const std::string& method = "GET") {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

// Coroutines here are plain functions, with co_await out of constructor arguments and test macros:
// GCC 12 miscompiles such coroutines (a lambda version of this one freed a bad pointer).
asio::awaitable<void> files_then_websocket(std::uint16_t port, std::string url, bool& done) {
  const auto index = co_await exchange(port, get("/"));
  EXPECT_EQ(index.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << index;
  EXPECT_NE(index.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(index.find("\r\n\r\n<!doctype html><title>demo</title>"), std::string::npos);

  const auto script = co_await exchange(port, get("/app.js?v=2"));
  EXPECT_NE(script.find("Content-Type: text/javascript"), std::string::npos) << script;

  const auto missing = co_await exchange(port, get("/missing.js"));
  EXPECT_EQ(missing.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << missing;
  const auto outside = co_await exchange(port, get("/%2e%2e/secret.txt"));
  EXPECT_EQ(outside.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << outside;
  EXPECT_EQ(outside.find("secret\n"), std::string::npos);
  const auto post = co_await exchange(port, get("/", "POST"));
  EXPECT_EQ(post.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);

  // HEAD and GET on one keep-alive connection: HEAD has the length and no body.
  const auto both =
      co_await exchange(port, "HEAD /app.js HTTP/1.1\r\nHost: x\r\n\r\n" + get("/app.js"));
  EXPECT_EQ(both.find("HTTP/1.1 200 OK"), 0u) << both;
  EXPECT_NE(both.find("HTTP/1.1 200 OK", 1), std::string::npos) << both;
  EXPECT_EQ(both.find("console.log"), both.rfind("console.log")) << "one body only";

  // The same port still speaks WebSocket: a ws-relay subscription is confirmed.
  auto ex = co_await asio::this_coro::executor;
  net::WebSocketClient ws(ex);
  const auto connected = co_await ws.connect(*net::parse_url(url));
  EXPECT_TRUE(connected);
  ws.send_text(signal::wsrelay::encode(signal::wsrelay::Subscribe{"web"}));
  const auto subscribed = co_await ws.read();
  EXPECT_EQ(subscribed ? subscribed->data : "", R"({"topic":"web","type":"subscribed"})");
  ws.close();
  done = true;
}

class RelayWeb : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("posthorn-web-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(std::random_device{}()));
    fs::create_directories(root_ / "site");
    std::ofstream(root_ / "site" / "index.html") << "<!doctype html><title>demo</title>";
    std::ofstream(root_ / "site" / "app.js") << "console.log('hi')";
    std::ofstream(root_ / "secret.txt") << "secret";
  }
  void TearDown() override { fs::remove_all(root_); }

  /// Runs `scenario` against a server serving root_/site; returns the server's final stats.
  relay::ServerStats run(asio::awaitable<void> (*scenario)(std::uint16_t, std::string, bool&)) {
    asio::io_context io;
    relay::WsServer server(io.get_executor(), {});
    server.serve_files((root_ / "site").string());
    bool done = false;
    asio::co_spawn(io, scenario(server.port(), server.url(), done), [&](std::exception_ptr e) {
      server.stop();
      if (e) std::rethrow_exception(e);
    });
    io.run_for(std::chrono::seconds(20));
    EXPECT_TRUE(done);
    return server.stats();
  }

  fs::path root_;
};

TEST_F(RelayWeb, ServesFilesAndUpgradesWebSocketsOnOnePort) {
  const auto stats = run(files_then_websocket);
  EXPECT_EQ(stats.http_requests, 7u);
  EXPECT_EQ(stats.accepted, 1u);
  EXPECT_EQ(stats.rejected, 0u);
}

TEST(RelayWebOff, WithoutAWebRootPlainHttpIsRefused) {
  asio::io_context io;
  relay::WsServer server(io.get_executor(), {});
  std::string response;
  asio::co_spawn(io, exchange(server.port(), get("/")), [&](std::exception_ptr e, std::string r) {
    server.stop();
    if (e) std::rethrow_exception(e);
    response = std::move(r);
  });
  io.run_for(std::chrono::seconds(10));
  EXPECT_EQ(response.rfind("HTTP/1.1 426 Upgrade Required\r\n", 0), 0u) << response;
  EXPECT_EQ(server.stats().rejected, 1u);
  EXPECT_EQ(server.stats().http_requests, 0u);
}

TEST(RelayWebOff, AWebRootThatIsNoDirectoryIsRefused) {
  asio::io_context io;
  relay::WsServer server(io.get_executor(), {});
  EXPECT_THROW(server.serve_files("/nonexistent/posthorn-web"), std::invalid_argument);
}

} // namespace
} // namespace posthorn
