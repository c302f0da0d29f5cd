#include "strategy/nostr_strategy.hpp"

#include "core/log.hpp"
#include "core/overloaded.hpp"
#include "net/url.hpp"
#include "net/websocket_client.hpp"
#include "signal/nostr_messages.hpp"
#include "signal/trystero_ids.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace posthorn::strategy {

namespace {

namespace asio = boost::asio;
namespace nostr = signal::nostr;
using detail::RelaySession;
using detail::SessionOutcome;

/// §5.1: at most 250 topics per REQ; further topics get further subscriptions.
constexpr std::size_t kTopicsPerReq = 250;
/// `since` lags the wall clock this much, so that a peer whose clock runs behind ours is still
/// heard. Nothing is lost by it: the events are ephemeral, so a relay has none stored to replay.
constexpr std::int64_t kSinceSlackSeconds = 30;

std::int64_t unix_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

/// One WebSocket connection to a relay, with its batch of topics.
class Connection final : public RelaySession, public std::enable_shared_from_this<Connection> {
public:
  struct Chunk {
    std::string subscription_id;
    std::vector<std::string> topics;     // as last sent in a REQ
    std::set<std::string> awaiting_eose; // topics that become ready at its next EOSE
  };

  Connection(const asio::any_io_executor& executor, net::WebSocketOptions options,
             const nostr::KeyPair& keys, Rng& rng)
      : ws(executor, std::move(options)), keys_(&keys), rng_(&rng), executor_(executor) {}

  void subscribe(const std::string& topic) override {
    if (std::find(topics_.begin(), topics_.end(), topic) == topics_.end()) topics_.push_back(topic);
    added_.insert(topic);
    schedule_flush();
  }
  void unsubscribe(const std::string& topic) override {
    std::erase(topics_, topic);
    added_.erase(topic);
    schedule_flush();
  }
  bool publish(std::string_view topic, std::string_view text) override {
    nostr::Digest aux{};
    rng_->fill(aux); // BIP-340 auxiliary randomness: two signatures of one id differ (§5.1)
    const auto event =
        nostr::make_topic_event(*keys_, topic, std::string(text), unix_seconds(), aux);
    return ws.send_text(nostr::encode(nostr::ClientMessage(nostr::ClientEvent{event})));
  }
  void end(std::string why) override {
    if (reason.empty()) reason = std::move(why);
    ws.close();
  }

  /// The topics of the chunk answered by this EOSE that now count as subscribed.
  std::vector<std::string> take_ready(const std::string& subscription_id) {
    for (auto& chunk : chunks_) {
      if (chunk.subscription_id != subscription_id) continue;
      std::vector<std::string> ready(chunk.awaiting_eose.begin(), chunk.awaiting_eose.end());
      chunk.awaiting_eose.clear();
      return ready;
    }
    return {};
  }
  [[nodiscard]] bool has_topic(std::string_view topic) const {
    return std::find(topics_.begin(), topics_.end(), topic) != topics_.end();
  }

  net::WebSocketClient ws;
  std::string reason; // why we ended it, when we did
  bool give_up = false;

private:
  // §5.1: each change to the batch is flushed on the next tick, so a room's self and root topics
  // go out in one REQ.
  void schedule_flush() {
    if (flush_scheduled_) return;
    flush_scheduled_ = true;
    asio::post(executor_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->flush();
    });
  }

  void flush() {
    flush_scheduled_ = false;
    const std::size_t wanted = (topics_.size() + kTopicsPerReq - 1) / kTopicsPerReq;
    // Chunks beyond what the batch needs now are closed.
    while (chunks_.size() > wanted) {
      ws.send_text(
          nostr::encode(nostr::ClientMessage(nostr::Close{chunks_.back().subscription_id})));
      chunks_.pop_back();
    }
    for (std::size_t i = 0; i < wanted; ++i) {
      if (i == chunks_.size())
        chunks_.push_back({signal::gen_id(*rng_, 64), {}, {}}); // genId(64), reused (§5.1)
      Chunk& chunk = chunks_[i];
      const auto first = topics_.begin() + static_cast<std::ptrdiff_t>(i * kTopicsPerReq);
      const auto last = topics_.begin() + static_cast<std::ptrdiff_t>(
                                              std::min(topics_.size(), (i + 1) * kTopicsPerReq));
      std::vector<std::string> topics(first, last);
      bool has_new = false;
      for (const auto& t : topics)
        if (added_.contains(t)) {
          chunk.awaiting_eose.insert(t);
          has_new = true;
        }
      if (topics == chunk.topics && !has_new) continue;
      chunk.topics = std::move(topics);
      nostr::Filter filter;
      for (const auto& t : chunk.topics) {
        const auto kind = signal::nostr_kind(t);
        if (std::find(filter.kinds.begin(), filter.kinds.end(), kind) == filter.kinds.end())
          filter.kinds.push_back(kind);
      }
      filter.since = unix_seconds() - kSinceSlackSeconds;
      filter.x_tags = chunk.topics;
      ws.send_text(
          nostr::encode(nostr::ClientMessage(nostr::Req{chunk.subscription_id, {filter}})));
    }
    added_.clear();
  }

  const nostr::KeyPair* keys_;
  Rng* rng_;
  asio::any_io_executor executor_;
  std::vector<std::string> topics_; // the batch, in the order subscribed
  std::set<std::string> added_;     // subscribed since the last flush
  std::vector<Chunk> chunks_;
  bool flush_scheduled_ = false;
};

class NostrStrategy final : public Strategy {
  struct State final : detail::TopicRelays {
    State(asio::any_io_executor ex, NostrStrategyConfig cfg, Rng& rng, std::vector<net::Url> u,
          std::vector<std::string> status_urls)
        : TopicRelays(std::move(ex), "nostr", cfg.reconnect, rng, std::move(status_urls)),
          config(std::move(cfg)), urls(std::move(u)), keys(nostr::KeyPair::generate(rng)) {}

    asio::awaitable<SessionOutcome> run_session(std::size_t index) override {
      SessionOutcome out;
      auto conn = std::make_shared<Connection>(
          executor(),
          net::WebSocketOptions{.max_message_size = config.max_message_size,
                                .connect_timeout = config.connect_timeout,
                                .idle_timeout = config.idle_timeout,
                                .max_queued_bytes = config.max_queued_bytes,
                                .tls = config.tls},
          keys, rng());
      session_started(index, conn);
      auto connected = co_await conn->ws.connect(urls[index]);
      if (closed()) co_return out;
      if (!connected) {
        out.error = "connect failed: " + connected.error().message();
        co_return out;
      }
      out.opened = true;
      POSTHORN_LOG(Info, "nostr", status(index).url, ": connected");
      session_opened(index, conn.get()); // subscribes every topic: one batch, flushed next tick
      for (;;) {
        auto message = co_await conn->ws.read();
        if (closed()) co_return out;
        if (!message) {
          out.error = !conn->reason.empty() ? conn->reason
                                            : "connection lost: " + message.error().message();
          out.give_up = conn->give_up;
          co_return out;
        }
        handle(index, *conn, message->data);
      }
    }

    void handle(std::size_t index, Connection& conn, const std::string& text) {
      auto decoded = nostr::decode_relay_message(text);
      if (auto* e = std::get_if<nostr::DecodeError>(&decoded)) {
        ++status(index).dropped_in;
        POSTHORN_LOG(Debug, "nostr", status(index).url, ": dropped a message: ", e->reason);
        return;
      }
      std::visit(overloaded{
                     [&](nostr::RelayEvent& m) {
                       const auto topic = nostr::first_tag(m.event, "x");
                       if (!topic || !conn.has_topic(*topic) || !nostr::verify(m.event)) {
                         ++status(index).dropped_in; // not ours, or forged on its way
                         return;
                       }
                       deliver(index, &conn, *topic, m.event.content);
                     },
                     [&](nostr::Eose& m) {
                       for (const auto& topic : conn.take_ready(m.subscription_id))
                         topic_ready(index, &conn, topic);
                     },
                     [&](nostr::Ok& m) {
                       if (m.accepted || m.message.starts_with("duplicate:")) return;
                       if (m.message.starts_with("rate-limited:")) {
                         ++status(index).dropped_out;
                         status(index).last_error = "relay: " + m.message;
                         return;
                       }
                       // §5.1: any other refusal retires the relay for good.
                       conn.give_up = true;
                       conn.end("relay refused an event: " + m.message);
                     },
                     [&](nostr::Closed& m) {
                       conn.give_up = true;
                       conn.end("relay closed a subscription: " + m.message);
                     },
                     [&](nostr::Notice& m) {
                       POSTHORN_LOG(Debug, "nostr", status(index).url, ": notice: ", m.message);
                     },
                 },
                 std::get<nostr::RelayMessage>(decoded));
    }

    NostrStrategyConfig config;
    std::vector<net::Url> urls; // by relay index
    nostr::KeyPair keys;        // one key pair for every event of this strategy (§5.1)
  };

public:
  NostrStrategy(asio::any_io_executor executor, NostrStrategyConfig config, Rng& rng) {
    if (config.urls.empty())
      throw std::invalid_argument("posthorn: the Nostr strategy needs at least one relay URL");
    if (config.reconnect.min.count() <= 0 || config.reconnect.min > config.reconnect.max)
      throw std::invalid_argument("posthorn: Nostr reconnect backoff needs 0 < min <= max");
    std::vector<net::Url> urls;
    std::vector<std::string> status_urls;
    for (const auto& text : config.urls) {
      auto url = net::parse_url(text);
      if (!url || !url->is_websocket())
        throw std::invalid_argument("posthorn: Nostr relay URL '" + detail::redact_userinfo(text) +
                                    "' is not a ws:// or wss:// URL");
      status_urls.push_back(url->to_string());
      urls.push_back(std::move(*url));
    }
    state_ = std::make_shared<State>(std::move(executor), std::move(config), rng, std::move(urls),
                                     std::move(status_urls));
    state_->start();
  }
  ~NostrStrategy() override { close(); }

  [[nodiscard]] std::size_t relay_count() const override { return state_->relay_count(); }
  [[nodiscard]] Subscription subscribe(std::string topic, MessageHandler on_message,
                                       ReadyHandler on_ready) override {
    if (topic.empty()) throw std::invalid_argument("posthorn: a Nostr topic cannot be empty");
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

std::vector<std::string> nostr_default_relays(std::string_view app_id, std::size_t redundancy) {
  // §5.1: the 28 defaults of @trystero-p2p/nostr 0.25.4, in its order.
  static const std::vector<std::string> kDefaults = {
      "basspistol.org",
      "bucket.coracle.social",
      "chorus.pjv.me",
      "koru.bitcointxoko.org",
      "nos.lol",
      "nostr-01.uid.ovh",
      "nostr-01.yakihonne.com",
      "nostr-relay.corb.net",
      "nostr.data.haus",
      "nostr.islandarea.net",
      "nostr.sathoarder.com",
      "nostr.tegila.com.br",
      "nostr.vulpem.com",
      "purplerelay.com",
      "relay-can.zombi.cloudrodion.com",
      "relay-rpi.edufeed.org",
      "relay.agorist.space",
      "relay.artio.inf.unibe.ch",
      "relay.mostr.pub",
      "relay.mostro.network",
      "relay.sigit.io",
      "relay02.lnfi.network",
      "schnorr.me",
      "social.amanah.eblessing.co",
      "staging.yabu.me",
      "strfry.shock.network",
      "top.testrelay.top",
      "yabu.me/v2",
  };
  auto shuffled =
      signal::seeded_shuffle(kDefaults, static_cast<double>(signal::str_to_num(app_id)));
  shuffled.resize(std::min(redundancy, shuffled.size()));
  for (auto& host : shuffled)
    host = "wss://" + host;
  return shuffled;
}

std::unique_ptr<Strategy> make_nostr_strategy(asio::any_io_executor executor,
                                              NostrStrategyConfig config, Rng& rng) {
  return std::make_unique<NostrStrategy>(std::move(executor), std::move(config), rng);
}

} // namespace posthorn::strategy
