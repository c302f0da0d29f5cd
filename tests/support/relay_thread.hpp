#pragma once
// `posthorn relay`'s server (ws-relay, Nostr and the WebTorrent tracker on one port) on a thread
// of its own, on loopback, for tests that need a signaling relay in-process.

#include "relay/ws_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <optional>
#include <string>
#include <thread>

namespace posthorn::test {

/// A relay server on its own thread, on loopback; `port` 0 = any.
class RelayThread {
public:
  explicit RelayThread(std::uint16_t port = 0)
      : RelayThread(relay::WsServerOptions{.port = port}) {}
  explicit RelayThread(relay::WsServerOptions options) {
    server_.emplace(io_.get_executor(), std::move(options));
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RelayThread() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] { server_->stop(); });
    work_.reset();
    thread_.join();
  }
  [[nodiscard]] std::string url() const { return server_->url(); }
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  relay::ServerStats stats() {
    std::promise<relay::ServerStats> p;
    boost::asio::post(io_, [&] { p.set_value(server_->stats()); });
    return p.get_future().get();
  }

private:
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::optional<relay::WsServer> server_;
  std::thread thread_;
};

} // namespace posthorn::test
