#include "strategy/torrent_strategy.hpp"

#include "core/log.hpp"
#include "net/url.hpp"
#include "net/websocket_client.hpp"
#include "signal/tracker_codec.hpp"

#include <boost/asio/post.hpp>

#include <stdexcept>

namespace posthorn::strategy {
namespace {

namespace asio = boost::asio;
namespace tracker = signal::tracker;
using detail::RelaySession;
using detail::SessionOutcome;

class TorrentStrategy;

/// One WebSocket connection to a tracker.
class Connection final : public RelaySession {
public:
  using ReadyFn = std::function<void(const RelaySession*, const std::string&)>;
  Connection(const asio::any_io_executor& executor, net::WebSocketOptions options, ReadyFn ready)
      : ws(executor, std::move(options)), executor_(executor), ready_(std::move(ready)) {}

  // Nothing to send: a tracker learns of a room from its announces. Readiness is posted, never
  // reported from inside this call (RelaySession's contract).
  void subscribe(const std::string& topic) override {
    asio::post(executor_,
               [ready = ready_, self = this, alive = std::weak_ptr<bool>(alive_), topic] {
                 if (!alive.expired()) ready(self, topic);
               });
  }
  void unsubscribe(const std::string&) override {}
  bool publish(std::string_view, std::string_view text) override {
    return ws.send_text(std::string(text));
  }
  void end(std::string why) override {
    if (reason.empty()) reason = std::move(why);
    ws.close();
  }

  net::WebSocketClient ws;
  std::string reason; // why we ended it, when we did

private:
  asio::any_io_executor executor_;
  ReadyFn ready_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class TorrentStrategy final : public Strategy {
  struct State final : detail::TopicRelays {
    State(asio::any_io_executor ex, TorrentStrategyConfig cfg, Rng& rng, std::vector<net::Url> u,
          std::vector<std::string> status_urls)
        : TopicRelays(std::move(ex), "torrent", cfg.reconnect, rng, std::move(status_urls)),
          config(std::move(cfg)), urls(std::move(u)) {}

    asio::awaitable<SessionOutcome> run_session(std::size_t index) override {
      SessionOutcome out;
      std::weak_ptr<TopicRelays> weak = weak_from_this();
      auto conn = std::make_shared<Connection>(
          executor(),
          net::WebSocketOptions{.max_message_size = config.max_message_size,
                                .connect_timeout = config.connect_timeout,
                                .idle_timeout = config.idle_timeout,
                                .max_queued_bytes = config.max_queued_bytes,
                                .tls = config.tls},
          [weak, index](const RelaySession* session, const std::string& topic) {
            if (auto self = std::static_pointer_cast<State>(weak.lock()))
              self->topic_ready(index, session, topic);
          });
      session_started(index, conn);
      auto connected = co_await conn->ws.connect(urls[index]);
      if (closed()) co_return out;
      if (!connected) {
        out.error = "connect failed: " + connected.error().message();
        co_return out;
      }
      out.opened = true;
      POSTHORN_LOG(Info, "torrent", status(index).url, ": connected");
      session_opened(index, conn.get()); // "subscribes" (readies) every room's info_hash
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
      auto decoded = tracker::decode_tracker_message(text);
      if (auto* e = std::get_if<tracker::DecodeError>(&decoded)) {
        ++status(index).dropped_in;
        POSTHORN_LOG(Debug, "torrent", status(index).url, ": dropped a message: ", e->reason);
        return;
      }
      const auto& message = std::get<tracker::TrackerMessage>(decoded);
      if (const auto* failure = std::get_if<tracker::Failure>(&message);
          failure && !failure->info_hash) {
        ++status(index).dropped_in;
        status(index).last_error = "tracker: " + failure->reason.substr(0, 200);
        POSTHORN_LOG(Warn, "torrent", status(index).url, ": tracker says: ", failure->reason);
        return;
      }
      const std::string& info_hash = std::visit(
          [](const auto& m) -> const std::string& {
            if constexpr (std::is_same_v<std::decay_t<decltype(m)>, tracker::Failure>)
              return *m.info_hash;
            else
              return m.info_hash;
          },
          message);
      deliver(index, &conn, info_hash, text);
    }

    TorrentStrategyConfig config;
    std::vector<net::Url> urls; // by relay index
  };

public:
  TorrentStrategy(asio::any_io_executor executor, TorrentStrategyConfig config, Rng& rng) {
    if (config.urls.empty())
      throw std::invalid_argument("posthorn: the torrent strategy needs at least one tracker URL");
    if (config.reconnect.min.count() <= 0 || config.reconnect.min > config.reconnect.max)
      throw std::invalid_argument("posthorn: torrent reconnect backoff needs 0 < min <= max");
    std::vector<net::Url> urls;
    std::vector<std::string> status_urls;
    for (const auto& text : config.urls) {
      auto url = net::parse_url(text);
      if (!url || !url->is_websocket())
        throw std::invalid_argument("posthorn: tracker URL '" + detail::redact_userinfo(text) +
                                    "' is not a ws:// or wss:// URL");
      status_urls.push_back(url->to_string());
      urls.push_back(std::move(*url));
    }
    state_ = std::make_shared<State>(std::move(executor), std::move(config), rng, std::move(urls),
                                     std::move(status_urls));
    state_->start();
  }
  ~TorrentStrategy() override { close(); }

  [[nodiscard]] std::size_t relay_count() const override { return state_->relay_count(); }
  [[nodiscard]] SignalingModel signaling_model() const override {
    return SignalingModel::WebTorrentTracker;
  }
  [[nodiscard]] Subscription subscribe(std::string topic, MessageHandler on_message,
                                       ReadyHandler on_ready) override {
    if (!tracker::is_valid_id(topic))
      throw std::invalid_argument("posthorn: a torrent topic is a 20-character info_hash");
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

std::vector<std::string> torrent_default_trackers(std::size_t redundancy) {
  static const char* const kTrackers[] = {
      "wss://open.ftorrent.com",
      "wss://tracker.webtorrent.dev",
      "wss://tracker.openwebtorrent.com",
      "wss://tracker.btorrent.xyz",
      "wss://tracker.files.fm:7073/announce",
  };
  std::vector<std::string> out;
  for (std::size_t i = 0; i < std::size(kTrackers) && i < redundancy; ++i)
    out.emplace_back(kTrackers[i]);
  return out;
}

std::unique_ptr<Strategy> make_torrent_strategy(asio::any_io_executor executor,
                                                TorrentStrategyConfig config, Rng& rng) {
  return std::make_unique<TorrentStrategy>(std::move(executor), std::move(config), rng);
}

} // namespace posthorn::strategy
