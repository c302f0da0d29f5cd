#pragma once
// The interface every signaling medium implements (MQTT brokers, Nostr relays, WebTorrent
// trackers, ws-relay servers): topic pub/sub over several relays at once. A tracker has no topics;
// its strategy maps the info_hash onto one (every tracker message carries it) and publishes the
// tracker messages the TorrentCoordinator composes as they are.
//
// Relays are addressed by a small index, fixed for the strategy's lifetime, because Trystero's
// state machine is per relay (spec/trystero-wire.md §4.2: an offer is answered on the relay it
// came from; the announce cadence runs per relay connection, §4.3).
//
// Threading: a strategy lives on one executor (its room's strand). Every method must be called
// there and every handler runs there, never re-entrantly inside the call that caused it.
// Delivery is at most once: a publish while a relay is not open is dropped and counted, as
// mqtt.js does with QoS 0 and offline queuing off.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace posthorn::strategy {

enum class RelayState : std::uint8_t {
  Connecting, ///< first attempt or a reconnect in progress
  Open,       ///< connected; subscriptions are (being) established
  Closed,     ///< lost; a reconnect is scheduled with jittered backoff
  Failed,     ///< gave up (retries exhausted or the relay refused us for good)
};

std::string_view to_string(RelayState state) noexcept;

struct RelayStatus {
  std::string url; ///< as configured, credentials removed
  RelayState state = RelayState::Connecting;
  std::string last_error;         ///< empty when none
  std::uint32_t reconnects = 0;   ///< successful opens after the first
  std::uint64_t messages_in = 0;  ///< delivered to handlers
  std::uint64_t messages_out = 0; ///< written to the relay
  std::uint64_t dropped_out = 0;  ///< publishes dropped because the relay was not open
  std::uint64_t dropped_in = 0;   ///< malformed or oversized input dropped
};

/// RAII handle: unsubscribes when destroyed or reset. Movable, not copyable.
class Subscription {
public:
  Subscription() = default;
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, {})) {}
  Subscription& operator=(Subscription&& other) noexcept {
    if (this != &other) {
      reset();
      cancel_ = std::exchange(other.cancel_, {});
    }
    return *this;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { reset(); }
  void reset() {
    if (auto cancel = std::exchange(cancel_, {})) cancel();
  }
  [[nodiscard]] bool active() const noexcept { return static_cast<bool>(cancel_); }

private:
  std::function<void()> cancel_;
};

/// How peers find each other over this medium, which picks the room's signaling machine.
enum class SignalingModel : std::uint8_t {
  TopicPubSub,       ///< MQTT, Nostr, ws-relay: Trystero's topic handshake (signal::Coordinator)
  WebTorrentTracker, ///< trackers forward pooled offers (signal::TorrentCoordinator, §5.2)
};

class Strategy {
public:
  /// (relay index, topic, message text). Messages this process published itself may come back
  /// (MQTT delivers a client's own publishes); the coordinator drops them by peerId.
  using MessageHandler =
      std::function<void(std::size_t relay, std::string_view topic, std::string_view text)>;
  /// Called each time the subscription is in place on `relay` (first time and after every
  /// reconnect): the coordinator's cue to start or restart its announce burst there.
  using ReadyHandler = std::function<void(std::size_t relay)>;

  virtual ~Strategy() = default;

  [[nodiscard]] virtual std::size_t relay_count() const = 0;
  [[nodiscard]] virtual SignalingModel signaling_model() const {
    return SignalingModel::TopicPubSub;
  }
  /// Subscribes on every relay (now, and again after each reconnect).
  [[nodiscard]] virtual Subscription subscribe(std::string topic, MessageHandler on_message,
                                               ReadyHandler on_ready) = 0;
  /// Publishes `text` to `topic` on one relay. Dropped (and counted) if that relay is not open.
  virtual void publish(std::size_t relay, std::string_view topic, std::string_view text) = 0;
  [[nodiscard]] virtual std::vector<RelayStatus> relay_statuses() const = 0;
  /// Closes every relay connection; no handler runs afterwards.
  virtual void close() = 0;
};

} // namespace posthorn::strategy
