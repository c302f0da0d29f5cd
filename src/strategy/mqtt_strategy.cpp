#include "strategy/mqtt_strategy.hpp"

#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "net/byte_stream.hpp"
#include "net/url.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <map>
#include <stdexcept>

namespace posthorn::strategy {

namespace asio = boost::asio;
namespace mqtt = signal::mqtt;

namespace mqtt_detail {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct Subscriber {
  std::uint64_t id;
  Strategy::MessageHandler on_message;
  Strategy::ReadyHandler on_ready;
};
using SubscriberList = std::vector<std::shared_ptr<Subscriber>>;

/// One transport session with a broker, from connect to loss.
struct Connection {
  Connection(const asio::any_io_executor& executor, std::shared_ptr<net::ByteStream> s,
             mqtt::DecoderOptions decoder_options)
      : stream(std::move(s)), decoder(decoder_options), connack_timer(executor),
        ping_timer(executor) {}

  struct TopicState {
    std::uint16_t packet_id = 0; // of the latest SUBSCRIBE for the topic
    bool active = false;         // its SUBACK granted it
  };

  std::uint16_t take_packet_id() {
    const auto id = next_packet_id;
    next_packet_id = next_packet_id == 0xFFFF ? 1 : next_packet_id + 1; // §2.3.1: never 0
    return id;
  }

  /// Ends the session from our side; the read loop then sees the stream fail and reports `why`.
  void end(std::string why) {
    if (!ended) {
      ended = true;
      end_reason = std::move(why);
    }
    connack_timer.cancel();
    ping_timer.cancel();
    stream->close();
  }

  std::shared_ptr<net::ByteStream> stream;
  mqtt::Decoder decoder;
  asio::steady_timer connack_timer;
  asio::steady_timer ping_timer;
  bool mqtt_open = false; // CONNACK accepted
  bool ping_outstanding = false;
  bool ended = false;
  bool give_up = false; // the broker refused us in a way retrying cannot fix
  std::string end_reason;
  std::uint16_t next_packet_id = 1;
  std::map<std::uint16_t, std::string> pending_subacks;  // SUBSCRIBE packet id -> topic
  std::map<std::string, TopicState, std::less<>> topics; // subscribed in this session
};

struct Relay {
  explicit Relay(const asio::any_io_executor& executor) : backoff_timer(executor) {}
  net::Url url;
  std::string client_id;
  RelayStatus status;
  std::shared_ptr<Connection> conn;
  asio::steady_timer backoff_timer;
  std::uint32_t failures = 0; // consecutive attempts that never reached CONNACK
  bool ever_opened = false;
};

struct SessionOutcome {
  bool opened = false;
  bool give_up = false;
  std::string error;
};

/// The URL for an error message, without credentials even when it does not parse.
std::string redact_userinfo(std::string_view text) {
  const auto scheme = text.find("://");
  const auto at = text.rfind('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme)
    return std::string(text);
  return std::string(text.substr(0, scheme + 3)) + "…@" + std::string(text.substr(at + 1));
}

template <class F> void invoke_handler(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    POSTHORN_LOG(Error, "mqtt", what, " handler threw: ", e.what());
  } catch (...) {
    POSTHORN_LOG(Error, "mqtt", what, " handler threw");
  }
}

} // namespace mqtt_detail

using namespace mqtt_detail;

struct MqttStrategy::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, MqttStrategyConfig cfg, Rng& r)
      : executor(std::move(ex)), config(std::move(cfg)), rng(&r) {}

  asio::any_io_executor executor;
  MqttStrategyConfig config;
  Rng* rng;
  bool closed = false;
  std::vector<std::unique_ptr<Relay>> relays; // fixed after construction
  std::map<std::string, SubscriberList, std::less<>> topics;
  std::uint64_t next_subscriber_id = 1;

  std::string new_client_id() { return config.client_id_prefix + to_hex(rng->bytes(4)); }

  /// Jittered exponential backoff: reconnect_min doubled per consecutive failure beyond the
  /// first, capped at reconnect_max, then drawn from [delay/2, delay] ("equal jitter").
  std::chrono::milliseconds backoff(std::uint32_t failures) {
    auto delay = config.reconnect_min;
    for (std::uint32_t i = 1; i < failures && delay < config.reconnect_max; ++i)
      delay *= 2;
    delay = std::min(delay, config.reconnect_max);
    const auto half = delay / 2;
    return half + std::chrono::milliseconds(
                      rng->uniform(static_cast<std::uint64_t>((delay - half).count()) + 1));
  }

  // ---- per-broker coroutines ----

  // The coroutines take the state as a parameter, not through `this`: a coroutine's parameters are
  // copied into its frame when it is created, while its body (and a shared_from_this() in it)
  // only runs once the executor gets to it, possibly after the strategy is gone.
  static asio::awaitable<void> run_relay(std::shared_ptr<State> self, std::size_t index) {
    co_await self->relay_loop(index);
  }

  asio::awaitable<void> relay_loop(std::size_t index) {
    Relay& relay = *relays[index];
    for (;;) {
      if (closed) co_return;
      relay.status.state = RelayState::Connecting;
      const SessionOutcome outcome = co_await run_session(index);
      relay.conn.reset();
      if (closed) co_return;
      relay.status.state = RelayState::Closed;
      relay.status.last_error = outcome.error;
      if (!outcome.opened) ++relay.failures;
      if (outcome.give_up || (config.max_attempts != 0 && relay.failures >= config.max_attempts)) {
        relay.status.state = RelayState::Failed;
        POSTHORN_LOG(Warn, "mqtt", "giving up on ", relay.status.url, ": ", outcome.error);
        co_return;
      }
      const auto delay = backoff(relay.failures);
      POSTHORN_LOG(Info, "mqtt", relay.status.url, ": ", outcome.error, "; reconnecting in ",
                   delay.count(), " ms");
      relay.backoff_timer.expires_after(delay);
      co_await relay.backoff_timer.async_wait(kNoThrow);
    }
  }

  asio::awaitable<SessionOutcome> run_session(std::size_t index) {
    Relay& relay = *relays[index];
    SessionOutcome out;
    // MQTT 3.1.1 §6: over WebSocket the packets travel in binary messages of the "mqtt"
    // subprotocol. A message may hold several packets, so allow a few packets' worth; the
    // decoder still enforces max_packet_size per packet.
    auto made = net::make_byte_stream(executor, relay.url,
                                      {.websocket_subprotocol = "mqtt",
                                       .max_message_size = 4 * config.max_packet_size,
                                       .connect_timeout = config.connect_timeout,
                                       .max_queued_bytes = config.max_queued_bytes,
                                       .tls = config.tls});
    if (!made) {
      out.error = made.error().message();
      out.give_up = true;
      co_return out;
    }
    std::shared_ptr<net::ByteStream> stream = std::move(*made);
    auto conn =
        std::make_shared<Connection>(executor, stream,
                                     mqtt::DecoderOptions{.max_packet_size = config.max_packet_size,
                                                          .skip_oversized_publish = true});
    relay.conn = conn;

    auto connected = co_await stream->connect(relay.url);
    if (closed) co_return out;
    if (!connected) {
      out.error = "connect failed: " + connected.error().message();
      co_return out;
    }

    auto connect_packet = mqtt::encode_connect(
        {.client_id = relay.client_id,
         .keepalive_seconds = static_cast<std::uint16_t>(config.keepalive.count()),
         .clean_session = true,
         .username = relay.url.username,
         .password = relay.url.password});
    if (!connect_packet) {
      out.error = "cannot encode CONNECT: " + connect_packet.error().message();
      out.give_up = true;
      stream->close();
      co_return out;
    }
    stream->send(std::move(*connect_packet));
    conn->connack_timer.expires_after(config.connect_timeout);
    conn->connack_timer.async_wait([weak = std::weak_ptr<Connection>(conn)](error_code ec) {
      if (ec) return;
      if (auto c = weak.lock(); c && !c->mqtt_open) c->end("no CONNACK within the connect timeout");
    });

    for (;;) {
      auto chunk = co_await stream->read();
      if (closed) co_return out;
      if (!chunk) {
        out.error = conn->ended ? conn->end_reason : "connection lost: " + chunk.error().message();
        break;
      }
      if (conn->ended) continue; // draining until the stream reports the close
      conn->decoder.feed(*chunk);
      while (!conn->ended && !closed) {
        auto packet = conn->decoder.poll();
        if (!packet) {
          ++relay.status.dropped_in;
          conn->end("protocol error: " + packet.error().message());
          break;
        }
        if (!*packet) break;
        handle_packet(index, conn, std::move(**packet));
      }
      if (closed) co_return out;
    }
    conn->ended = true;
    conn->connack_timer.cancel();
    conn->ping_timer.cancel();
    out.opened = conn->mqtt_open;
    out.give_up = conn->give_up;
    co_return out;
  }

  static asio::awaitable<void> keepalive(std::shared_ptr<State> self,
                                         std::shared_ptr<Connection> conn) {
    for (;;) {
      conn->ping_timer.expires_after(self->config.keepalive);
      auto [ec] = co_await conn->ping_timer.async_wait(kNoThrow);
      if (ec || self->closed || conn->ended) co_return;
      // §3.1.2.10: the broker drops us after 1.5 keepalive periods of silence; we give it one
      // period to answer a PINGREQ, as mqtt.js does.
      if (conn->ping_outstanding) {
        conn->end("keepalive timeout: no PINGRESP within " +
                  std::to_string(self->config.keepalive.count()) + " s");
        co_return;
      }
      conn->ping_outstanding = true;
      conn->stream->send(mqtt::encode_pingreq());
    }
  }

  // ---- packets from the broker ----

  void handle_packet(std::size_t index, const std::shared_ptr<Connection>& conn,
                     mqtt::Packet packet) {
    Relay& relay = *relays[index];
    if (!conn->mqtt_open && !std::holds_alternative<mqtt::ConnAck>(packet)) {
      // §3.2: the first packet from the server is CONNACK.
      ++relay.status.dropped_in;
      conn->end("protocol error: packet before CONNACK");
      return;
    }
    std::visit(overloaded{
                   [&](mqtt::ConnAck& ack) { handle_connack(index, conn, ack); },
                   [&](mqtt::SubAck& ack) { handle_suback(index, conn, ack); },
                   [&](mqtt::UnsubAck&) {},
                   [&](mqtt::Publish& publish) {
                     if (publish.qos == 2) { // we subscribe at QoS 0: the broker may not send QoS 2
                       ++relay.status.dropped_in;
                       conn->end("protocol error: QoS 2 PUBLISH on a QoS 0 subscription");
                       return;
                     }
                     if (publish.qos == 1)
                       conn->stream->send(mqtt::encode_puback(publish.packet_id));
                     deliver(index, conn, publish);
                   },
                   [&](mqtt::PingResp&) { conn->ping_outstanding = false; },
                   [&](mqtt::SkippedPublish& skipped) {
                     ++relay.status.dropped_in;
                     POSTHORN_LOG(Debug, "mqtt", relay.status.url, ": skipped a PUBLISH of ",
                                  skipped.packet_size, " bytes (max_packet_size ",
                                  config.max_packet_size, ")");
                   },
               },
               packet);
  }

  void handle_connack(std::size_t index, const std::shared_ptr<Connection>& conn,
                      const mqtt::ConnAck& ack) {
    Relay& relay = *relays[index];
    if (conn->mqtt_open) {
      ++relay.status.dropped_in;
      conn->end("protocol error: a second CONNACK");
      return;
    }
    if (ack.return_code != 0) {
      using Code = mqtt::ConnectReturnCode;
      const auto code = static_cast<Code>(ack.return_code);
      // A protocol level or credentials the broker rejects will be rejected again; a rejected
      // client id gets a fresh one, and "server unavailable" is worth retrying.
      conn->give_up = code == Code::UnacceptableProtocolVersion ||
                      code == Code::BadUsernameOrPassword || code == Code::NotAuthorized;
      if (code == Code::IdentifierRejected) relay.client_id = new_client_id();
      conn->end("broker refused the connection: " +
                mqtt::describe_connect_return_code(ack.return_code));
      return;
    }
    conn->mqtt_open = true;
    conn->connack_timer.cancel();
    relay.status.state = RelayState::Open;
    relay.status.last_error.clear();
    if (relay.ever_opened) ++relay.status.reconnects;
    relay.ever_opened = true;
    relay.failures = 0;
    POSTHORN_LOG(Info, "mqtt", relay.status.url, ": connected as ", relay.client_id);
    if (config.keepalive.count() > 0)
      asio::co_spawn(executor, keepalive(shared_from_this(), conn), [](std::exception_ptr) {});
    for (const auto& [topic, subscribers] : topics)
      subscribe_on(*conn, topic);
  }

  void handle_suback(std::size_t index, const std::shared_ptr<Connection>& conn,
                     const mqtt::SubAck& ack) {
    Relay& relay = *relays[index];
    auto pending = conn->pending_subacks.find(ack.packet_id);
    if (pending == conn->pending_subacks.end()) return; // not ours; harmless
    const std::string topic = std::move(pending->second);
    conn->pending_subacks.erase(pending);
    auto state = conn->topics.find(topic);
    // Unsubscribed meanwhile, or superseded by a later SUBSCRIBE whose SUBACK is the one to wait
    // for.
    if (state == conn->topics.end() || state->second.packet_id != ack.packet_id) return;
    if (ack.return_codes.empty() || ack.return_codes.front() == mqtt::kSubscribeFailure) {
      conn->topics.erase(state);
      relay.status.last_error = "broker refused a subscription";
      POSTHORN_LOG(Warn, "mqtt", relay.status.url, ": broker refused a subscription");
      return;
    }
    state->second.active = true;
    auto it = topics.find(topic);
    if (it == topics.end()) return;
    const SubscriberList subscribers = it->second; // handlers may (un)subscribe
    for (const auto& sub : subscribers) {
      if (closed || relay.conn != conn) return;
      if (!is_subscribed(topic, sub->id)) continue;
      invoke_handler("ready", [&] { sub->on_ready(index); });
    }
  }

  void deliver(std::size_t index, const std::shared_ptr<Connection>& conn,
               const mqtt::Publish& publish) {
    Relay& relay = *relays[index];
    auto it = topics.find(publish.topic);
    if (it == topics.end()) return; // a late message after the last unsubscribe
    ++relay.status.messages_in;
    const SubscriberList subscribers = it->second;
    const std::string_view text = as_string_view(publish.payload);
    for (const auto& sub : subscribers) {
      if (closed || relay.conn != conn) return;
      if (!is_subscribed(publish.topic, sub->id)) continue;
      invoke_handler("message", [&] { sub->on_message(index, publish.topic, text); });
    }
  }

  // ---- subscriptions ----

  bool is_subscribed(std::string_view topic, std::uint64_t id) const {
    auto it = topics.find(topic);
    return it != topics.end() && std::any_of(it->second.begin(), it->second.end(),
                                             [&](const auto& s) { return s->id == id; });
  }

  void subscribe_on(Connection& conn, const std::string& topic) {
    const auto id = conn.take_packet_id();
    auto packet = mqtt::encode_subscribe(id, std::span<const std::string>(&topic, 1));
    if (!packet) return; // topics are validated in subscribe()
    conn.pending_subacks[id] = topic;
    conn.topics[topic] = {.packet_id = id, .active = false};
    conn.stream->send(std::move(*packet));
  }

  void unsubscribe(const std::string& topic, std::uint64_t id) {
    auto it = topics.find(topic);
    if (it == topics.end()) return;
    std::erase_if(it->second, [&](const auto& s) { return s->id == id; });
    if (!it->second.empty()) return;
    topics.erase(it);
    // Reference count reached zero: leave the topic on every broker we are connected to.
    for (auto& relay : relays) {
      auto conn = relay->conn;
      if (!conn || !conn->mqtt_open || conn->ended) continue;
      auto state = conn->topics.find(topic);
      if (state == conn->topics.end()) continue;
      conn->topics.erase(state);
      auto packet =
          mqtt::encode_unsubscribe(conn->take_packet_id(), std::span<const std::string>(&topic, 1));
      if (packet) conn->stream->send(std::move(*packet));
    }
  }

  void close() {
    if (closed) return;
    closed = true;
    topics.clear(); // releases the handlers (a running one is kept alive by its caller's copy)
    for (auto& relay : relays) {
      relay->backoff_timer.cancel();
      if (relay->status.state != RelayState::Failed) relay->status.state = RelayState::Closed;
      if (auto conn = relay->conn) {
        if (conn->mqtt_open && !conn->ended) conn->stream->send(mqtt::encode_disconnect());
        conn->end("closed");
      }
    }
  }
};

MqttStrategy::MqttStrategy(asio::any_io_executor executor, MqttStrategyConfig config, Rng& rng) {
  if (config.urls.empty())
    throw std::invalid_argument("posthorn: the MQTT strategy needs at least one broker URL");
  if (config.keepalive.count() < 0 || config.keepalive.count() > 0xFFFF)
    throw std::invalid_argument(
        "posthorn: MQTT keepalive must be 0..65535 s (MQTT 3.1.1 §3.1.2.10)");
  if (config.reconnect_min.count() <= 0 || config.reconnect_min > config.reconnect_max)
    throw std::invalid_argument(
        "posthorn: MQTT reconnect backoff needs 0 < reconnect_min <= reconnect_max");
  if (config.max_packet_size < 16)
    throw std::invalid_argument("posthorn: MQTT max_packet_size must be at least 16 bytes");

  state_ = std::make_shared<State>(executor, std::move(config), rng);
  auto& cfg = state_->config;
  for (std::size_t i = 0; i < cfg.urls.size(); ++i) {
    auto url = net::parse_url(cfg.urls[i]);
    if (!url)
      throw std::invalid_argument("posthorn: MQTT broker URL '" + redact_userinfo(cfg.urls[i]) +
                                  "' is invalid: " + url.error().message());
    auto relay = std::make_unique<Relay>(executor);
    relay->url = std::move(*url);
    relay->client_id = state_->new_client_id();
    relay->status.url = relay->url.to_string();
    state_->relays.push_back(std::move(relay));
  }
  for (std::size_t i = 0; i < state_->relays.size(); ++i)
    asio::co_spawn(executor, State::run_relay(state_, i), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        POSTHORN_LOG(Error, "mqtt", "relay coroutine failed: ", ex.what());
      } catch (...) {
        POSTHORN_LOG(Error, "mqtt", "relay coroutine failed");
      }
    });
}

MqttStrategy::~MqttStrategy() {
  close();
}

std::size_t MqttStrategy::relay_count() const {
  return state_->relays.size();
}

Subscription MqttStrategy::subscribe(std::string topic, MessageHandler on_message,
                                     ReadyHandler on_ready) {
  // §4.7: a topic name for PUBLISH and an exact filter for SUBSCRIBE at once, so no wildcards.
  if (topic.empty() || topic.size() > 0xFFFF || topic.find_first_of("+#") != std::string::npos ||
      !mqtt::is_valid_mqtt_string(topic))
    throw std::invalid_argument("posthorn: '" + topic.substr(0, 64) +
                                "' cannot be an MQTT topic (empty, a wildcard, or not UTF-8)");
  auto& s = *state_;
  if (s.closed) return {};
  auto sub = std::make_shared<Subscriber>(
      Subscriber{s.next_subscriber_id++, std::move(on_message), std::move(on_ready)});
  auto& list = s.topics[topic];
  list.push_back(sub);
  for (std::size_t i = 0; i < s.relays.size(); ++i) {
    auto conn = s.relays[i]->conn;
    if (!conn || !conn->mqtt_open || conn->ended) continue; // subscribed on (re)connect
    auto state = conn->topics.find(topic);
    if (state == conn->topics.end()) {
      s.subscribe_on(*conn, topic); // the SUBACK runs every ready handler of the topic
    } else if (state->second.active) {
      // Already subscribed for another room: this subscriber's ready runs from the executor,
      // not inside this call.
      asio::post(s.executor, [weak = std::weak_ptr<State>(state_),
                              weak_conn = std::weak_ptr<Connection>(conn), topic, id = sub->id, i] {
        auto st = weak.lock();
        auto c = weak_conn.lock();
        if (!st || !c || st->closed || st->relays[i]->conn != c) return;
        auto it = st->topics.find(topic);
        if (it == st->topics.end()) return;
        for (const auto& candidate : it->second)
          if (candidate->id == id) {
            auto keep = candidate;
            invoke_handler("ready", [&] { keep->on_ready(i); });
            return;
          }
      });
    }
  }
  return Subscription([weak = std::weak_ptr<State>(state_), topic, id = sub->id] {
    if (auto st = weak.lock()) st->unsubscribe(topic, id);
  });
}

void MqttStrategy::publish(std::size_t relay, std::string_view topic, std::string_view text) {
  auto& s = *state_;
  if (relay >= s.relays.size()) {
    POSTHORN_LOG(Warn, "mqtt", "publish to relay ", relay, " of ", s.relays.size(), " ignored");
    return;
  }
  Relay& r = *s.relays[relay];
  auto conn = r.conn;
  if (s.closed || !conn || !conn->mqtt_open || conn->ended) {
    ++r.status.dropped_out; // QoS 0 with offline queuing off, as mqtt.js (spec §5.3)
    return;
  }
  auto packet = mqtt::encode_publish(topic, as_bytes(text));
  if (!packet) {
    ++r.status.dropped_out;
    POSTHORN_LOG(Warn, "mqtt", "cannot publish: ", packet.error().message());
    return;
  }
  if (conn->stream->send(std::move(*packet)))
    ++r.status.messages_out;
  else
    ++r.status.dropped_out; // the broker is not keeping up: the write queue is full
}

std::vector<RelayStatus> MqttStrategy::relay_statuses() const {
  std::vector<RelayStatus> out;
  out.reserve(state_->relays.size());
  for (const auto& relay : state_->relays)
    out.push_back(relay->status);
  return out;
}

void MqttStrategy::close() {
  state_->close();
}

std::unique_ptr<Strategy> make_mqtt_strategy(asio::any_io_executor executor,
                                             MqttStrategyConfig config, Rng& rng) {
  return std::make_unique<MqttStrategy>(std::move(executor), std::move(config), rng);
}

} // namespace posthorn::strategy
