#pragma once
// What every topic pub/sub strategy shares (MQTT brokers, ws-relay servers, and next Nostr
// relays), so that each protocol only says how to talk to one relay:
//  - one coroutine per relay: session, then on loss a jittered exponential backoff and a new
//    session, until closed or given up;
//  - the topic registry: several subscribers per topic (one per room), reference-counted on the
//    wire, every ready handler run once per subscriber per session, never re-entrantly;
//  - delivery to the topic's subscribers, publish with drop counting, RelayStatus bookkeeping.
//
// A protocol derives from TopicRelays, implements run_session() (connect, handshake, then read
// until the session ends) and a RelaySession per live connection (the protocol's subscribe,
// unsubscribe and publish), and reports back through session_opened(), topic_ready(),
// topic_refused() and deliver(). Every call happens on the executor given to the constructor.

#include "core/rng.hpp"
#include "strategy/strategy.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::strategy::detail {

/// How one session with a relay ended.
struct SessionOutcome {
  bool opened = false;  ///< it became usable (session_opened was called)
  bool give_up = false; ///< retrying cannot help (bad URL, refused credentials, …)
  std::string error;
};

/// One live connection to a relay, as its protocol drives it.
class RelaySession {
public:
  virtual ~RelaySession() = default;
  /// Sends the protocol's subscribe for `topic`. Readiness is reported later, from the session's
  /// own read loop or a post, through TopicRelays::topic_ready, never from inside this call.
  virtual void subscribe(const std::string& topic) = 0;
  virtual void unsubscribe(const std::string& topic) = 0;
  /// False when the message could not be queued (the relay is not keeping up).
  virtual bool publish(std::string_view topic, std::string_view text) = 0;
  /// Ends the session from our side (with the protocol's goodbye where it has one).
  virtual void end(std::string why) = 0;
};

struct ReconnectPolicy {
  /// After a working connection is lost the first delay is `min`; it doubles per consecutive
  /// failed attempt up to `max`, and each delay is drawn from [delay/2, delay] ("equal jitter")
  /// so that clients that lost the same relay spread out.
  std::chrono::milliseconds min{1'000};
  std::chrono::milliseconds max{30'000};
  /// Consecutive failed attempts after which a relay is given up (RelayState::Failed); 0 = never.
  std::uint32_t max_attempts = 0;
};

class TopicRelays : public std::enable_shared_from_this<TopicRelays> {
public:
  /// `log_tag` names the protocol in logs; `status_urls` are the relays as shown in RelayStatus
  /// (credentials removed), one per relay index.
  TopicRelays(boost::asio::any_io_executor executor, const char* log_tag, ReconnectPolicy policy,
              Rng& rng, std::vector<std::string> status_urls);
  virtual ~TopicRelays();
  TopicRelays(const TopicRelays&) = delete;
  TopicRelays& operator=(const TopicRelays&) = delete;

  /// Spawns one coroutine per relay. Call once, after construction (it needs shared_from_this).
  void start();

  // --- Strategy, forwarded by the protocol's facade ---
  [[nodiscard]] std::size_t relay_count() const { return relays_.size(); }
  [[nodiscard]] Subscription subscribe(std::string topic, Strategy::MessageHandler on_message,
                                       Strategy::ReadyHandler on_ready);
  void publish(std::size_t relay, std::string_view topic, std::string_view text);
  [[nodiscard]] std::vector<RelayStatus> relay_statuses() const;
  void close();

protected:
  /// One session with relay `index`, from connect to loss: call session_started() as soon as
  /// the session object exists (so that close() can end it while it connects), session_opened()
  /// once it is usable, then read until it ends. Runs again after each backoff.
  virtual boost::asio::awaitable<SessionOutcome> run_session(std::size_t index) = 0;

  void session_started(std::size_t index, const std::shared_ptr<RelaySession>& session);
  /// The session on relay `index` is usable: the relay counts as open and every registered
  /// topic is subscribed through it.
  void session_opened(std::size_t index, const RelaySession* session);
  /// `topic` is in place on `session`: its subscribers' ready handlers run.
  void topic_ready(std::size_t index, const RelaySession* session, const std::string& topic);
  /// The relay refused `topic` on `session`; it will be asked again in the next session.
  void topic_refused(std::size_t index, const RelaySession* session, const std::string& topic,
                     std::string why);
  /// A message on `topic` from `session`: handed to the topic's subscribers.
  void deliver(std::size_t index, const RelaySession* session, std::string_view topic,
               std::string_view text);

  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] RelayStatus& status(std::size_t index) { return relays_[index]->status; }
  [[nodiscard]] const char* log_tag() const noexcept { return log_tag_; }
  [[nodiscard]] Rng& rng() noexcept { return *rng_; }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

private:
  struct Subscriber {
    std::uint64_t id;
    Strategy::MessageHandler on_message;
    Strategy::ReadyHandler on_ready;
  };
  using SubscriberList = std::vector<std::shared_ptr<Subscriber>>;
  struct Relay {
    explicit Relay(const boost::asio::any_io_executor& executor) : backoff_timer(executor) {}
    RelayStatus status;
    std::shared_ptr<RelaySession> session;        // from session_started to the session's end
    bool open = false;                            // session_opened was called for it
    std::set<std::string, std::less<>> requested; // topics subscribed on that session
    std::set<std::string, std::less<>> ready;     // of those, the ones in place
    boost::asio::steady_timer backoff_timer;
    std::uint32_t failures = 0; // consecutive sessions that never opened
    bool ever_opened = false;
  };

  static boost::asio::awaitable<void> run_relay(std::shared_ptr<TopicRelays> self,
                                                std::size_t index);
  boost::asio::awaitable<void> relay_loop(std::size_t index);
  [[nodiscard]] std::chrono::milliseconds backoff(std::uint32_t failures);
  [[nodiscard]] bool is_subscribed(std::string_view topic, std::uint64_t id) const;
  [[nodiscard]] bool is_current(std::size_t index, const RelaySession* session) const;
  void unsubscribe(const std::string& topic, std::uint64_t id);
  void post_ready(std::size_t index, const std::string& topic, std::uint64_t id);

  boost::asio::any_io_executor executor_;
  const char* log_tag_;
  ReconnectPolicy policy_;
  Rng* rng_;
  bool closed_ = false;
  std::vector<std::unique_ptr<Relay>> relays_; // fixed after construction
  std::map<std::string, SubscriberList, std::less<>> topics_;
  std::uint64_t next_subscriber_id_ = 1;
};

/// Runs `f`, logging (never propagating) what it throws: a user handler must not take the
/// strategy's loop down.
void invoke_handler(const char* log_tag, const char* what, const std::function<void()>& f);

/// A URL for messages and statuses, without credentials even when it does not parse.
std::string redact_userinfo(std::string_view url);

} // namespace posthorn::strategy::detail
