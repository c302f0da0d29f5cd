#pragma once
// Rooms and actions, in Trystero's vocabulary (spec/trystero-wire.md): join a room by app id and
// room id through a signaling strategy, see peers join and leave, and exchange named actions
// whose payloads are text, JSON or bytes. Browser peers running Trystero 0.25.4 share the room.
//
//   posthorn::Runtime rt;
//   auto room = posthorn::join_room(rt, {.app_id = "san_narciso_3d",
//                                        .strategy = posthorn::strategies::mqtt({url})}, "lobby");
//   room.on_peer_join([](const posthorn::PeerId& id) { ... });
//   auto chat = room.make_action("chat");
//   chat.on_message([](posthorn::Payload p, const posthorn::MessageInfo& m) { ... });
//   chat.async_send(posthorn::Payload::text("hi"), {}, [](posthorn::error_code ec) { ... });
//
// Threading: every callback runs on the runtime's executor, never re-entrantly inside the call
// that caused it. Methods may be called from any thread. Handles are cheap to copy; the room
// lives until leave() (or the runtime's destruction). After leave() no callback fires.

#include <posthorn/detail/completion.hpp>
#include <posthorn/error.hpp>
#include <posthorn/payload.hpp>
#include <posthorn/runtime.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn {

namespace detail {
class RoomImpl;
class ActionImpl;
} // namespace detail

/// How a room finds peers (spec §5). Make one with a function of posthorn::strategies.
struct StrategyConfig {
  std::string name; ///< "mqtt", "wsrelay", "nostr", "torrent"
  std::vector<std::string> relay_urls;
};

namespace strategies {
/// MQTT 3.1.1 brokers: ws://, wss:// (the `mqtt` WebSocket subprotocol, as Trystero), or
/// mqtt:// / mqtts:// (plain TCP / TLS).
StrategyConfig mqtt(std::vector<std::string> broker_urls);
/// ws-relay servers (`posthorn relay`): ws:// or wss://, JSON topic pub/sub
/// (docs/strategies.md).
StrategyConfig wsrelay(std::vector<std::string> relay_urls);
/// Nostr relays (ws:// or wss://), as Trystero's default strategy. With no URL, Trystero's own
/// choice for the app: 5 of its 28 public relays, picked by the app id (spec §5.1).
StrategyConfig nostr(std::vector<std::string> relay_urls = {});
/// WebTorrent trackers (ws:// or wss://: public ones, npm bittorrent-tracker, `posthorn relay`).
/// With no URL, Trystero's first three default trackers (spec §5.2). Signaling is non-trickle:
/// offers wait for ICE gathering, so joins take a little longer than over the topic strategies.
StrategyConfig torrent(std::vector<std::string> tracker_urls = {});
} // namespace strategies

/// Memory a room may hold for messages still arriving. Trystero keeps every partial message
/// whole; posthorn bounds it and drops (with an error event) what does not fit.
struct ReceiveLimits {
  std::size_t max_buffered_bytes_per_peer = 256u << 20;
  std::size_t max_message_bytes = 1u << 30;
};

struct RoomConfig {
  std::string app_id;
  /// Encrypts signaling and gates the room with a challenge (spec §3, §10). Empty = none.
  std::string password;
  StrategyConfig strategy;
  /// Wait for a non-passive peer before announcing (spec §4.5).
  bool passive = false;
  std::chrono::milliseconds handshake_timeout{10'000};
  ReceiveLimits receive_limits{};
};

struct JoinError {
  PeerId peer;         ///< may be empty when the error is not about one peer
  std::string message; ///< e.g. "incorrect password for overlapping room"
};

/// Something went wrong in a room that is not about joining: an incoming message was dropped
/// (over a receive limit, or malformed on the way), so the application learns of the loss.
struct RoomError {
  PeerId peer;        ///< the sender, when the error is about one peer's message
  std::string action; ///< the action type concerned, when known
  std::string
      message; ///< e.g. "dropped an incoming 'file' message: message exceeds 33554432 bytes"
};

struct MessageInfo {
  PeerId peer;
  std::optional<std::string> metadata; ///< JSON text
};

enum class Direction : std::uint8_t { In, Out };

struct ProgressInfo {
  PeerId peer;
  double fraction = 0; ///< (0, 1]
  Direction direction = Direction::In;
  std::optional<std::string> metadata;
};

struct SendOptions {
  std::vector<PeerId> targets;         ///< empty = every peer in the room
  std::optional<std::string> metadata; ///< JSON text
  std::function<void(const ProgressInfo&)> on_progress;
};

struct RequestOptions {
  std::optional<std::string> metadata;  ///< JSON text the handler sees in MessageInfo
  std::chrono::milliseconds timeout{0}; ///< per target; 0 = none
};

/// One peer's answer to a request: a payload, or an error with its message.
struct Response {
  PeerId peer;
  error_code error;
  std::string error_message; ///< the handler's error text, or why the request failed
  Payload payload;
};

/// Given to a request handler; answer once with reply() or fail(). Copyable; safe to keep and
/// answer later from any thread. Unanswered requests are answered with an error when the last
/// copy is destroyed.
class Responder {
public:
  void reply(Payload payload) const;
  void fail(std::string message) const;
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}

private:
  std::shared_ptr<State> state_;
};

/// One pending peer's application handshake step (Trystero's `onPeerHandshake`, spec §10): it
/// runs after the password step and before the peer joins, over `@_hsdata` messages. Exchange
/// what you need with send()/on_receive(), then end it once with admit() or reject(); until
/// then the peer is pending (not in peers(), no messages). is_initiator() gives the two sides
/// opposite roles, so a protocol can say who speaks first. Copyable; safe to keep and use later
/// from any thread. Handles of a handshake that ended (timed out, connection lost) do nothing.
class PeerHandshake {
public:
  [[nodiscard]] const PeerId& peer() const;
  /// The same value Trystero passes as `isInitiator` on this side (self id < peer id).
  [[nodiscard]] bool is_initiator() const;
  /// One message to the peer (Trystero: `send(data, metadata)`); `metadata_json` is JSON text.
  void send(Payload payload, std::optional<std::string> metadata_json = std::nullopt) const;
  /// The peer's messages, in order (Trystero: `receive()` → `{data, metadata}`); those that came
  /// before a handler was set are delivered to it first.
  void
  on_receive(std::function<void(Payload, std::optional<std::string> metadata_json)> handler) const;
  /// The step passed: the peer joins once its side is ready too.
  void admit() const;
  /// The peer never joins; on_join_error reports "handshake failed: <reason>".
  void reject(std::string reason) const;

  struct State;
  explicit PeerHandshake(std::shared_ptr<State> state) : state_(std::move(state)) {}

private:
  std::shared_ptr<State> state_;
};

/// Receives a message chunk by chunk instead of whole (files, large blobs).
class MessageSink {
public:
  virtual ~MessageSink() = default;
  virtual void write(std::span<const std::uint8_t> bytes) = 0;
  /// The whole message arrived.
  virtual void finish() = 0;
  /// The message will not complete (peer left, limit exceeded, …).
  virtual void abort(std::string_view reason) = 0;
};

class Action {
public:
  [[nodiscard]] const std::string& name() const;
  void on_message(std::function<void(Payload, const MessageInfo&)> handler);
  /// Progress of incoming messages.
  void on_progress(std::function<void(const ProgressInfo&)> handler);
  /// Stream incoming messages into sinks instead of whole payloads: `make_sink` is asked at the
  /// first chunk of each message (return nullptr to receive that one whole via on_message).
  void
  on_stream(std::function<std::unique_ptr<MessageSink>(const MessageInfo&, PayloadKind)> make_sink);
  /// Serve requests on this action (Trystero's `kind: 'request'` actions, spec §11). An action
  /// that also streams (on_stream) then receives every message whole, within the reassembly
  /// limits: a request is known only from its metadata, and the handler takes the whole payload.
  /// Plain messages still reach on_message, or a sink in one piece.
  void on_request(std::function<void(Payload, const MessageInfo&, Responder)> handler);

  /// Completes with no error once the payload went out to every target, or with the first
  /// error (a target left, the room was left).
  template <class Token> auto async_send(Payload payload, SendOptions options, Token&& token) {
    return boost::asio::async_initiate<Token, void(error_code)>(
        [this](auto handler, Payload p, SendOptions o) {
          start_send(std::move(p), std::move(o),
                     detail::make_completion<error_code>(std::move(handler), executor()));
        },
        token, std::move(payload), std::move(options));
  }
  /// Sends a file's bytes as a binary payload, read chunk by chunk (never whole in memory).
  template <class Token>
  auto async_send_file(std::string path, SendOptions options, Token&& token) {
    return boost::asio::async_initiate<Token, void(error_code)>(
        [this](auto handler, std::string p, SendOptions o) {
          start_send_file(std::move(p), std::move(o),
                          detail::make_completion<error_code>(std::move(handler), executor()));
        },
        token, std::move(path), std::move(options));
  }
  /// Asks one peer (spec §11): completes with its Response — the handler's reply or error, or
  /// why there is none (timed out, disconnected, not in the room, the room was left).
  template <class Token>
  auto async_request(Payload payload, PeerId peer, RequestOptions options, Token&& token) {
    return boost::asio::async_initiate<Token, void(Response)>(
        [this](auto handler, Payload p, PeerId to, RequestOptions o) {
          start_request_one(std::move(p), std::move(to), std::move(o),
                            detail::make_completion<Response>(std::move(handler), executor()));
        },
        token, std::move(payload), std::move(peer), std::move(options));
  }
  /// Asks several peers at once (`targets` empty = every peer in the room): completes when every
  /// target settled, with one Response per target in the order of `targets`.
  template <class Token>
  auto async_request_many(Payload payload, std::vector<PeerId> targets, RequestOptions options,
                          Token&& token) {
    return boost::asio::async_initiate<Token, void(std::vector<Response>)>(
        [this](auto handler, Payload p, std::vector<PeerId> to, RequestOptions o) {
          start_request(
              std::move(p), std::move(to), std::move(o),
              detail::make_completion<std::vector<Response>>(std::move(handler), executor()));
        },
        token, std::move(payload), std::move(targets), std::move(options));
  }

  explicit Action(std::shared_ptr<detail::ActionImpl> impl) : impl_(std::move(impl)) {}

private:
  [[nodiscard]] boost::asio::any_io_executor executor() const;
  void start_send(Payload, SendOptions, std::function<void(error_code)>);
  void start_send_file(std::string, SendOptions, std::function<void(error_code)>);
  void start_request(Payload, std::vector<PeerId>, RequestOptions,
                     std::function<void(std::vector<Response>)>);
  void start_request_one(Payload, PeerId, RequestOptions, std::function<void(Response)>);
  std::shared_ptr<detail::ActionImpl> impl_;
};

class Room {
public:
  [[nodiscard]] const PeerId& self_id() const;
  [[nodiscard]] const std::string& room_id() const;
  /// Peers that completed the room handshake (spec §10).
  [[nodiscard]] std::vector<PeerId> peers() const;

  void on_peer_join(std::function<void(const PeerId&)> handler);
  void on_peer_leave(std::function<void(const PeerId&)> handler);
  void on_join_error(std::function<void(const JoinError&)> handler);
  /// Errors after joining (see RoomError). Without a handler they are logged at warn level.
  void on_error(std::function<void(const RoomError&)> handler);
  /// Messages on actions this room never made (by name); without this handler they are kept
  /// (a bounded number) until make_action registers their name (spec §8.6). For generic tools.
  void on_unhandled_message(
      std::function<void(const std::string& action, Payload, const MessageInfo&)> handler);
  /// Admission: called before a peer joins; return false to refuse it (it never joins, and a
  /// JoinError is reported). Exchanges nothing with the peer.
  void on_peer_handshake(std::function<bool(const PeerId&)> admit);
  /// An application handshake step with every peer before it joins (see PeerHandshake); a
  /// Trystero peer with `onPeerHandshake` needs the matching exchange. Set it before peers
  /// arrive: the step runs only for peers whose handshake starts after this call.
  void on_peer_handshake(std::function<void(PeerHandshake)> handler);

  /// Throws std::invalid_argument for an empty name, one over 32 UTF-8 bytes, or one starting
  /// with the reserved "@_".
  [[nodiscard]] Action make_action(std::string_view name);

  /// Round-trip time to a peer (`@_ping`/`@_pong`).
  template <class Token> auto async_ping(PeerId peer, Token&& token) {
    return boost::asio::async_initiate<Token,
                                       void(error_code, std::chrono::duration<double, std::milli>)>(
        [this](auto handler, PeerId p) {
          start_ping(std::move(p),
                     detail::make_completion<error_code, std::chrono::duration<double, std::milli>>(
                         std::move(handler), executor()));
        },
        token, std::move(peer));
  }
  /// Says goodbye (`@_leave`) to every peer, stops signaling and completes when done.
  template <class Token> auto async_leave(Token&& token) {
    return boost::asio::async_initiate<Token, void()>(
        [this](auto handler) {
          start_leave(detail::make_completion<>(std::move(handler), executor()));
        },
        token);
  }
  void leave();

  struct RelayInfo {
    std::string url;
    std::string state; ///< "connecting", "open", "closed", "failed"
    std::string last_error;
  };
  [[nodiscard]] std::vector<RelayInfo> relay_statuses() const;

  explicit Room(std::shared_ptr<detail::RoomImpl> impl) : impl_(std::move(impl)) {}

private:
  [[nodiscard]] boost::asio::any_io_executor executor() const;
  void start_ping(PeerId,
                  std::function<void(error_code, std::chrono::duration<double, std::milli>)>);
  void start_leave(std::function<void()>);
  std::shared_ptr<detail::RoomImpl> impl_;
};

/// Joins (or returns the already joined) room `room_id` of `config.app_id`. Signaling starts at
/// once on the runtime's loop. Throws std::invalid_argument on an unusable config.
[[nodiscard]] Room join_room(Runtime& runtime, RoomConfig config, std::string room_id);

} // namespace posthorn
