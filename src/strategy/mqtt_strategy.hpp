#pragma once
// Trystero's MQTT strategy (spec/trystero-wire.md §5.3): topic pub/sub through MQTT 3.1.1 brokers,
// over WebSocket (ws://, wss://, subprotocol "mqtt") or plain TCP/TLS (mqtt://, mqtts://, tcp://,
// tls://). Several brokers at once; relay index = index in `urls`.
//
// Per broker, one coroutine: connect → CONNECT/CONNACK → SUBSCRIBE every active topic (QoS 0) →
// on each SUBACK the topic's ReadyHandlers run for that relay → PUBLISHes are delivered to the
// topic's MessageHandlers; PINGREQ every keepalive period, and no PINGRESP by the next one counts
// as a lost connection. On loss: reconnect after a jittered exponential backoff, subscribe again,
// and the ReadyHandlers run again (docs/strategies.md explains the policy).
//
// Threading: everything runs on the executor given to the constructor, which must be a strand or
// a single-threaded io_context; call every member there. Handlers run there too, never
// re-entrantly inside subscribe()/publish(). A handler may call any member, close() the strategy
// or destroy it. After close() (or destruction) no handler runs.

#include "core/rng.hpp"
#include "net/tls.hpp"
#include "signal/mqtt_codec.hpp"
#include "strategy/strategy.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace posthorn::strategy {

struct MqttStrategyConfig {
  /// Broker URLs (ws, wss, mqtt, mqtts, tcp, tls); credentials as `scheme://user:pass@host`.
  std::vector<std::string> urls;
  /// Client id = prefix + 8 random hex digits per broker, as mqtt.js makes them.
  std::string client_id_prefix = "mqttjs_";
  /// MQTT keepalive (§3.1.2.10), also our PINGREQ period; 0 turns pings off.
  std::chrono::seconds keepalive{60};
  /// Reconnect delay: reconnect_min after a working connection is lost (mqtt.js reconnects
  /// after 1 s), doubling per consecutive failed attempt up to reconnect_max; each delay is
  /// drawn uniformly from [delay/2, delay] so clients that lost the same broker spread out.
  std::chrono::milliseconds reconnect_min{1'000};
  std::chrono::milliseconds reconnect_max{30'000};
  /// Consecutive failed attempts after which a broker is given up (RelayState::Failed);
  /// 0 = keep trying.
  std::uint32_t max_attempts = 0;
  /// TCP/TLS/WebSocket connect plus the CONNACK.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Largest accepted MQTT packet. A larger PUBLISH (anyone can publish to our topics) is skipped
  /// and counted in dropped_in; any other oversized packet drops the connection.
  std::size_t max_packet_size = signal::mqtt::kDefaultMaxPacketSize;
  /// Bytes waiting to be written per broker before publishes are dropped (and counted).
  std::size_t max_queued_bytes = 4u << 20;
  net::TlsOptions tls;
};

class MqttStrategy final : public Strategy {
public:
  /// Starts connecting to every broker (once the executor runs). Throws std::invalid_argument on
  /// a bad configuration (no URL, an unparsable URL, keepalive over 65535 s, min > max backoff).
  /// `rng` (client ids, backoff jitter) must outlive the strategy's coroutines, i.e. the
  /// executor's execution context.
  MqttStrategy(boost::asio::any_io_executor executor, MqttStrategyConfig config, Rng& rng);
  ~MqttStrategy() override; ///< close()
  MqttStrategy(const MqttStrategy&) = delete;
  MqttStrategy& operator=(const MqttStrategy&) = delete;

  [[nodiscard]] std::size_t relay_count() const override;
  /// Throws std::invalid_argument for a topic MQTT cannot carry (empty, '+' or '#', not UTF-8).
  [[nodiscard]] Subscription subscribe(std::string topic, MessageHandler on_message,
                                       ReadyHandler on_ready) override;
  void publish(std::size_t relay, std::string_view topic, std::string_view text) override;
  [[nodiscard]] std::vector<RelayStatus> relay_statuses() const override;
  /// Sends DISCONNECT where connected, closes every connection, stops reconnecting.
  void close() override;

  struct State;

private:
  std::shared_ptr<State> state_;
};

[[nodiscard]] std::unique_ptr<Strategy> make_mqtt_strategy(boost::asio::any_io_executor executor,
                                                           MqttStrategyConfig config, Rng& rng);

} // namespace posthorn::strategy
