#pragma once
// `posthorn relay`'s WebSocket server: accepts ws:// connections on one port and runs each
// client's text messages through the hub of their protocol, told apart without parsing
// (relay/message_route): a JSON array is NIP-01 (NostrHub), an object led by "action" is the
// WebTorrent tracker protocol (TrackerHub), other objects are ws-relay (PubSubHub). One thread,
// one io_context; Beast stays inside ws_server.cpp.
//
// A connection's HTTP requests that are not WebSocket upgrades get static files after
// serve_files() (keep-alive; 426 otherwise); an upgrade request then goes to the hubs.
//
// Per client: a message over the hubs' largest max_message_bytes is refused from its frame header
// (close 1009), a broken frame fails the connection with the status RFC 6455 gives it (1002,
// 1007); at most max_queued_bytes wait to be written to a slow client, beyond which messages to
// it are dropped (and counted); a client silent for half of idle_timeout is pinged, and one silent
// for all of it is dropped (Beast's suggested server timeouts, 150 s and 300 s).
//
// Beast parses the HTTP side; the WebSocket framing after the upgrade is net/ws_frame's, so that
// every frame waiting for a client leaves in one write (docs/relay.md).

#include "relay/nostr_hub.hpp"
#include "relay/pubsub_hub.hpp"
#include "relay/tracker_hub.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace posthorn::relay {

struct WsServerOptions {
  std::string bind_address = "127.0.0.1";
  std::uint16_t port = 0; ///< 0: any free port
  HubLimits limits;
  NostrLimits nostr_limits;
  TrackerLimits tracker_limits;
  std::size_t max_clients = 50'000;
  std::size_t max_queued_bytes = 1u << 20;
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(300);
};

struct ServerStats {
  HubStats hub;
  NostrStats nostr;
  TrackerStats tracker;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;        ///< over max_clients, or a failed WebSocket upgrade
  std::uint64_t dropped_out = 0;     ///< messages not sent to a client whose queue was full
  std::uint64_t http_requests = 0;   ///< plain HTTP requests answered (static files, --web)
  std::uint64_t protocol_errors = 0; ///< connections failed for broken frames (RFC 6455 §7.1.7)
  std::uint64_t timed_out = 0;       ///< connections dropped after idle_timeout of silence
};

class WsServer {
public:
  /// Binds and listens (throws std::system_error when it cannot); accepts once the executor runs.
  WsServer(boost::asio::any_io_executor executor, WsServerOptions options);
  ~WsServer(); ///< stop()
  WsServer(const WsServer&) = delete;
  WsServer& operator=(const WsServer&) = delete;

  [[nodiscard]] std::uint16_t port() const;
  /// "ws://127.0.0.1:PORT"
  [[nodiscard]] std::string url() const;
  [[nodiscard]] ServerStats stats() const;
  /// Also serves the files of `dir` over plain HTTP GET/HEAD on this port (relay/static_files:
  /// `posthorn relay --web`). Throws std::invalid_argument when `dir` is not a directory. Call it
  /// before the executor runs, or on its thread.
  void serve_files(const std::string& dir);
  /// Stops accepting and closes every connection (closing handshake, going away).
  void stop();

  struct State;

private:
  std::shared_ptr<State> state_;
};

} // namespace posthorn::relay
