#include "strategy/mqtt_strategy.hpp"

#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "net/byte_stream.hpp"
#include "net/url.hpp"
#include "strategy/topic_relays.hpp"

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

using detail::RelaySession;
using detail::SessionOutcome;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

/// One transport session with a broker, from connect to loss.
struct Connection final : RelaySession {
  Connection(const asio::any_io_executor& executor, std::shared_ptr<net::ByteStream> s,
             mqtt::DecoderOptions decoder_options)
      : stream(std::move(s)), decoder(decoder_options), connack_timer(executor),
        ping_timer(executor) {}

  std::uint16_t take_packet_id() {
    const auto id = next_packet_id;
    next_packet_id = next_packet_id == 0xFFFF ? 1 : next_packet_id + 1; // §2.3.1: never 0
    return id;
  }

  // --- RelaySession ---
  void subscribe(const std::string& topic) override {
    const auto id = take_packet_id();
    auto packet = mqtt::encode_subscribe(id, std::span<const std::string>(&topic, 1));
    if (!packet) return; // topics are validated in MqttStrategy::subscribe()
    pending_subacks[id] = topic;
    latest_subscribe[topic] = id;
    stream->send(std::move(*packet));
  }
  void unsubscribe(const std::string& topic) override {
    latest_subscribe.erase(topic);
    auto packet =
        mqtt::encode_unsubscribe(take_packet_id(), std::span<const std::string>(&topic, 1));
    if (packet) stream->send(std::move(*packet));
  }
  bool publish(std::string_view topic, std::string_view text) override {
    auto packet = mqtt::encode_publish(topic, as_bytes(text));
    if (!packet) {
      POSTHORN_LOG(Warn, "mqtt", "cannot publish: ", packet.error().message());
      return false;
    }
    return stream->send(std::move(*packet));
  }
  /// Closing on purpose: DISCONNECT first where the broker accepted us (§3.14).
  void end(std::string why) override {
    if (mqtt_open && !ended) stream->send(mqtt::encode_disconnect());
    drop(std::move(why));
  }

  /// Ends the session from our side without a goodbye (a protocol error, a timeout); the read
  /// loop then sees the stream fail and reports `why`.
  void drop(std::string why) {
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
  std::map<std::uint16_t, std::string> pending_subacks; // SUBSCRIBE packet id -> topic
  std::map<std::string, std::uint16_t, std::less<>> latest_subscribe; // topic -> its packet id
};

struct Broker {
  net::Url url;
  std::string client_id;
};

} // namespace mqtt_detail

using namespace mqtt_detail;

struct MqttStrategy::State final : detail::TopicRelays {
  State(asio::any_io_executor ex, MqttStrategyConfig cfg, Rng& r, std::vector<Broker> b,
        std::vector<std::string> status_urls)
      : TopicRelays(
            std::move(ex), "mqtt",
            {.min = cfg.reconnect_min, .max = cfg.reconnect_max, .max_attempts = cfg.max_attempts},
            r, std::move(status_urls)),
        config(std::move(cfg)), brokers(std::move(b)) {}

  MqttStrategyConfig config;
  std::vector<Broker> brokers; // by relay index

  std::string new_client_id() { return config.client_id_prefix + to_hex(rng().bytes(4)); }

  asio::awaitable<SessionOutcome> run_session(std::size_t index) override {
    Broker& broker = brokers[index];
    SessionOutcome out;
    // MQTT 3.1.1 §6: over WebSocket the packets travel in binary messages of the "mqtt"
    // subprotocol. A message may hold several packets, so allow a few packets' worth; the
    // decoder still enforces max_packet_size per packet.
    auto made = net::make_byte_stream(executor(), broker.url,
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
        std::make_shared<Connection>(executor(), stream,
                                     mqtt::DecoderOptions{.max_packet_size = config.max_packet_size,
                                                          .skip_oversized_publish = true});
    session_started(index, conn);

    auto connected = co_await stream->connect(broker.url);
    if (closed()) co_return out;
    if (!connected) {
      out.error = "connect failed: " + connected.error().message();
      co_return out;
    }

    auto connect_packet = mqtt::encode_connect(
        {.client_id = broker.client_id,
         .keepalive_seconds = static_cast<std::uint16_t>(config.keepalive.count()),
         .clean_session = true,
         .username = broker.url.username,
         .password = broker.url.password});
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
      if (auto c = weak.lock(); c && !c->mqtt_open)
        c->drop("no CONNACK within the connect timeout");
    });

    for (;;) {
      auto chunk = co_await stream->read();
      if (closed()) co_return out;
      if (!chunk) {
        out.error = conn->ended ? conn->end_reason : "connection lost: " + chunk.error().message();
        break;
      }
      if (conn->ended) continue; // draining until the stream reports the close
      conn->decoder.feed(*chunk);
      while (!conn->ended && !closed()) {
        auto packet = conn->decoder.poll();
        if (!packet) {
          ++status(index).dropped_in;
          conn->drop("protocol error: " + packet.error().message());
          break;
        }
        if (!*packet) break;
        handle_packet(index, conn, std::move(**packet));
      }
      if (closed()) co_return out;
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
      if (ec || self->closed() || conn->ended) co_return;
      // §3.1.2.10: the broker drops us after 1.5 keepalive periods of silence; we give it one
      // period to answer a PINGREQ, as mqtt.js does.
      if (conn->ping_outstanding) {
        conn->drop("keepalive timeout: no PINGRESP within " +
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
    if (!conn->mqtt_open && !std::holds_alternative<mqtt::ConnAck>(packet)) {
      // §3.2: the first packet from the server is CONNACK.
      ++status(index).dropped_in;
      conn->drop("protocol error: packet before CONNACK");
      return;
    }
    std::visit(overloaded{
                   [&](mqtt::ConnAck& ack) { handle_connack(index, conn, ack); },
                   [&](mqtt::SubAck& ack) { handle_suback(index, conn, ack); },
                   [&](mqtt::UnsubAck&) {},
                   [&](mqtt::Publish& publish) {
                     if (publish.qos == 2) { // we subscribe at QoS 0: the broker may not send QoS 2
                       ++status(index).dropped_in;
                       conn->drop("protocol error: QoS 2 PUBLISH on a QoS 0 subscription");
                       return;
                     }
                     if (publish.qos == 1)
                       conn->stream->send(mqtt::encode_puback(publish.packet_id));
                     deliver(index, conn.get(), publish.topic, as_string_view(publish.payload));
                   },
                   [&](mqtt::PingResp&) { conn->ping_outstanding = false; },
                   [&](mqtt::SkippedPublish& skipped) {
                     ++status(index).dropped_in;
                     POSTHORN_LOG(Debug, "mqtt", status(index).url, ": skipped a PUBLISH of ",
                                  skipped.packet_size, " bytes (max_packet_size ",
                                  config.max_packet_size, ")");
                   },
               },
               packet);
  }

  void handle_connack(std::size_t index, const std::shared_ptr<Connection>& conn,
                      const mqtt::ConnAck& ack) {
    if (conn->mqtt_open) {
      ++status(index).dropped_in;
      conn->drop("protocol error: a second CONNACK");
      return;
    }
    if (ack.return_code != 0) {
      using Code = mqtt::ConnectReturnCode;
      const auto code = static_cast<Code>(ack.return_code);
      // A protocol level or credentials the broker rejects will be rejected again; a rejected
      // client id gets a fresh one, and "server unavailable" is worth retrying.
      conn->give_up = code == Code::UnacceptableProtocolVersion ||
                      code == Code::BadUsernameOrPassword || code == Code::NotAuthorized;
      if (code == Code::IdentifierRejected) brokers[index].client_id = new_client_id();
      conn->drop("broker refused the connection: " +
                 mqtt::describe_connect_return_code(ack.return_code));
      return;
    }
    conn->mqtt_open = true;
    conn->connack_timer.cancel();
    POSTHORN_LOG(Info, "mqtt", status(index).url, ": connected as ", brokers[index].client_id);
    if (config.keepalive.count() > 0)
      asio::co_spawn(executor(),
                     keepalive(std::static_pointer_cast<State>(shared_from_this()), conn),
                     [](std::exception_ptr) {});
    session_opened(index, conn.get()); // subscribes every topic
  }

  void handle_suback(std::size_t index, const std::shared_ptr<Connection>& conn,
                     const mqtt::SubAck& ack) {
    auto pending = conn->pending_subacks.find(ack.packet_id);
    if (pending == conn->pending_subacks.end()) return; // not ours; harmless
    const std::string topic = std::move(pending->second);
    conn->pending_subacks.erase(pending);
    // Unsubscribed meanwhile, or superseded by a later SUBSCRIBE whose SUBACK is the one to wait
    // for.
    auto latest = conn->latest_subscribe.find(topic);
    if (latest == conn->latest_subscribe.end() || latest->second != ack.packet_id) return;
    if (ack.return_codes.empty() || ack.return_codes.front() == mqtt::kSubscribeFailure) {
      conn->latest_subscribe.erase(latest);
      topic_refused(index, conn.get(), topic, "broker refused a subscription");
      return;
    }
    topic_ready(index, conn.get(), topic);
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

  std::vector<Broker> brokers;
  std::vector<std::string> status_urls;
  for (const auto& text : config.urls) {
    auto url = net::parse_url(text);
    if (!url)
      throw std::invalid_argument("posthorn: MQTT broker URL '" + detail::redact_userinfo(text) +
                                  "' is invalid: " + url.error().message());
    status_urls.push_back(url->to_string());
    brokers.push_back({std::move(*url), {}});
  }
  state_ = std::make_shared<State>(executor, std::move(config), rng, std::move(brokers),
                                   std::move(status_urls));
  for (auto& broker : state_->brokers)
    broker.client_id = state_->new_client_id();
  state_->start();
}

MqttStrategy::~MqttStrategy() {
  close();
}

std::size_t MqttStrategy::relay_count() const {
  return state_->relay_count();
}

Subscription MqttStrategy::subscribe(std::string topic, MessageHandler on_message,
                                     ReadyHandler on_ready) {
  // §4.7: a topic name for PUBLISH and an exact filter for SUBSCRIBE at once, so no wildcards.
  if (topic.empty() || topic.size() > 0xFFFF || topic.find_first_of("+#") != std::string::npos ||
      !mqtt::is_valid_mqtt_string(topic))
    throw std::invalid_argument("posthorn: '" + topic.substr(0, 64) +
                                "' cannot be an MQTT topic (empty, a wildcard, or not UTF-8)");
  return state_->subscribe(std::move(topic), std::move(on_message), std::move(on_ready));
}

void MqttStrategy::publish(std::size_t relay, std::string_view topic, std::string_view text) {
  // QoS 0 with offline queuing off, as mqtt.js (spec §5.3): dropped and counted when not open.
  state_->publish(relay, topic, text);
}

std::vector<RelayStatus> MqttStrategy::relay_statuses() const {
  return state_->relay_statuses();
}

void MqttStrategy::close() {
  state_->close();
}

std::unique_ptr<Strategy> make_mqtt_strategy(asio::any_io_executor executor,
                                             MqttStrategyConfig config, Rng& rng) {
  return std::make_unique<MqttStrategy>(std::move(executor), std::move(config), rng);
}

} // namespace posthorn::strategy
