#pragma once
// The ws-relay strategy: topic pub/sub through ws-relay servers (`posthorn relay`, or any server
// speaking the JSON protocol of signal/wsrelay_codec.hpp) over ws:// or wss://. Several relays at
// once; relay index = index in `urls`. The room state machine on top is the same as for MQTT
// (spec §4): only the medium differs.
//
// Per relay, one session at a time (TopicRelays runs the reconnect loop): connect → subscribe
// every active topic → each "subscribed" answer runs that topic's ready handlers for the relay →
// deliveries go to the topic's message handlers. A relay's "error" answer is logged and counted
// (it refuses one request; the relay closes the connection if it gives up on us).
//
// Threading: as every strategy (strategy.hpp): one executor, a strand or a single-threaded
// io_context; call every member there.

#include "core/rng.hpp"
#include "net/tls.hpp"
#include "strategy/strategy.hpp"
#include "strategy/topic_relays.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace posthorn::strategy {

struct WsRelayStrategyConfig {
  std::vector<std::string> urls; ///< ws:// or wss://
  detail::ReconnectPolicy reconnect;
  /// WebSocket connect (TCP, TLS, upgrade).
  std::chrono::milliseconds connect_timeout{10'000};
  /// Larger incoming messages fail the connection (a signal with an SDP is a few kB).
  std::size_t max_message_size = 256u << 10;
  /// Bytes waiting to be written per relay before publishes are dropped (and counted).
  std::size_t max_queued_bytes = 4u << 20;
  /// WebSocket pings after this much silence keep NATs and proxies from dropping an idle
  /// connection, and find a dead one.
  std::chrono::milliseconds idle_timeout{60'000};
  net::TlsOptions tls;
};

/// Throws std::invalid_argument on a bad configuration (no URL, a URL that is not ws/wss).
[[nodiscard]] std::unique_ptr<Strategy> make_wsrelay_strategy(boost::asio::any_io_executor executor,
                                                              WsRelayStrategyConfig config,
                                                              Rng& rng);

} // namespace posthorn::strategy
