#include "strategy/wsrelay_strategy.hpp"

#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "net/url.hpp"
#include "net/websocket_client.hpp"
#include "signal/wsrelay_codec.hpp"

#include <stdexcept>

namespace posthorn::strategy {
namespace {

namespace asio = boost::asio;
namespace wsrelay = signal::wsrelay;
using detail::RelaySession;
using detail::SessionOutcome;

/// One WebSocket connection to a relay.
class Connection final : public RelaySession {
public:
  Connection(const asio::any_io_executor& executor, net::WebSocketOptions options)
      : ws(executor, std::move(options)) {}

  void subscribe(const std::string& topic) override {
    ws.send_text(wsrelay::encode(wsrelay::Subscribe{topic}));
  }
  void unsubscribe(const std::string& topic) override {
    ws.send_text(wsrelay::encode(wsrelay::Unsubscribe{topic}));
  }
  bool publish(std::string_view topic, std::string_view text) override {
    return ws.send_text(wsrelay::encode(wsrelay::Publish{std::string(topic), std::string(text)}));
  }
  void end(std::string why) override {
    if (reason.empty()) reason = std::move(why);
    ws.close();
  }

  net::WebSocketClient ws;
  std::string reason; // why we ended it, when we did
};

class WsRelayStrategy final : public Strategy {
  struct State final : detail::TopicRelays {
    State(asio::any_io_executor ex, WsRelayStrategyConfig cfg, Rng& rng, std::vector<net::Url> u,
          std::vector<std::string> status_urls)
        : TopicRelays(std::move(ex), "wsrelay", cfg.reconnect, rng, std::move(status_urls)),
          config(std::move(cfg)), urls(std::move(u)) {}

    asio::awaitable<SessionOutcome> run_session(std::size_t index) override {
      SessionOutcome out;
      auto conn = std::make_shared<Connection>(
          executor(), net::WebSocketOptions{.max_message_size = config.max_message_size,
                                            .connect_timeout = config.connect_timeout,
                                            .idle_timeout = config.idle_timeout,
                                            .max_queued_bytes = config.max_queued_bytes,
                                            .tls = config.tls});
      session_started(index, conn);
      auto connected = co_await conn->ws.connect(urls[index]);
      if (closed()) co_return out;
      if (!connected) {
        out.error = "connect failed: " + connected.error().message();
        co_return out;
      }
      out.opened = true;
      POSTHORN_LOG(Info, "wsrelay", status(index).url, ": connected");
      session_opened(index, conn.get()); // subscribes every topic
      for (;;) {
        auto message = co_await conn->ws.read();
        if (closed()) co_return out;
        if (!message) {
          out.error = !conn->reason.empty() ? conn->reason
                                            : "connection lost: " + message.error().message();
          co_return out;
        }
        handle(index, *conn, message->data);
      }
    }

    void handle(std::size_t index, Connection& conn, const std::string& text) {
      auto decoded = wsrelay::decode_relay_message(text);
      if (auto* e = std::get_if<wsrelay::DecodeError>(&decoded)) {
        ++status(index).dropped_in;
        POSTHORN_LOG(Debug, "wsrelay", status(index).url, ": dropped a message: ", e->reason);
        return;
      }
      std::visit(overloaded{
                     [&](wsrelay::Subscribed& m) { topic_ready(index, &conn, m.topic); },
                     [&](wsrelay::Delivery& m) { deliver(index, &conn, m.topic, m.payload); },
                     [&](wsrelay::Refusal& m) {
                       ++status(index).dropped_in;
                       status(index).last_error = "relay: " + m.error;
                       POSTHORN_LOG(Warn, "wsrelay", status(index).url, ": relay says: ", m.error);
                     },
                 },
                 std::get<wsrelay::RelayMessage>(decoded));
    }

    WsRelayStrategyConfig config;
    std::vector<net::Url> urls; // by relay index
  };

public:
  WsRelayStrategy(asio::any_io_executor executor, WsRelayStrategyConfig config, Rng& rng) {
    if (config.urls.empty())
      throw std::invalid_argument("posthorn: the ws-relay strategy needs at least one relay URL");
    if (config.reconnect.min.count() <= 0 || config.reconnect.min > config.reconnect.max)
      throw std::invalid_argument("posthorn: ws-relay reconnect backoff needs 0 < min <= max");
    std::vector<net::Url> urls;
    std::vector<std::string> status_urls;
    for (const auto& text : config.urls) {
      auto url = net::parse_url(text);
      if (!url || !url->is_websocket())
        throw std::invalid_argument("posthorn: ws-relay URL '" + detail::redact_userinfo(text) +
                                    "' is not a ws:// or wss:// URL");
      status_urls.push_back(url->to_string());
      urls.push_back(std::move(*url));
    }
    state_ = std::make_shared<State>(std::move(executor), std::move(config), rng, std::move(urls),
                                     std::move(status_urls));
    state_->start();
  }
  ~WsRelayStrategy() override { close(); }

  [[nodiscard]] std::size_t relay_count() const override { return state_->relay_count(); }
  [[nodiscard]] Subscription subscribe(std::string topic, MessageHandler on_message,
                                       ReadyHandler on_ready) override {
    if (topic.empty() || topic.size() > wsrelay::kMaxTopicBytes)
      throw std::invalid_argument("posthorn: a ws-relay topic has 1 to " +
                                  std::to_string(wsrelay::kMaxTopicBytes) + " bytes");
    return state_->subscribe(std::move(topic), std::move(on_message), std::move(on_ready));
  }
  void publish(std::size_t relay, std::string_view topic, std::string_view text) override {
    state_->publish(relay, topic, text);
  }
  [[nodiscard]] std::vector<RelayStatus> relay_statuses() const override {
    return state_->relay_statuses();
  }
  void close() override { state_->close(); }

private:
  std::shared_ptr<State> state_;
};

} // namespace

std::unique_ptr<Strategy> make_wsrelay_strategy(asio::any_io_executor executor,
                                                WsRelayStrategyConfig config, Rng& rng) {
  return std::make_unique<WsRelayStrategy>(std::move(executor), std::move(config), rng);
}

} // namespace posthorn::strategy
