#pragma once
// Room activation: the handshake of spec/trystero-wire.md §10, one per (room, remote peer).
//
// A peer is "active" in a room (JS fires onPeerJoin) once both sides passed their local steps and
// told each other with `@_hsready`. The local steps are an optional password step, then an
// optional application ("user") step, both carried by `@_hsdata` messages:
//
//   initiator (self_id < remote_id, byte-wise)        responder
//   @_hsdata {"__trystero_pw":"challenge","c":C}  →
//                                                  ←  @_hsdata {"__trystero_pw":"response","h":H}
//   (user step: @_hsdata both ways)               ↔
//   @_hsready ""                                  ↔   @_hsready ""
//
// H = hex(SHA-256(C ":" password ":" appId ":" roomId)) (TV13). `@_hsready` is sent even without
// a password or user step: JS never activates a peer without it.
//
// Drive rules (sans-IO): construct with `now`; feed complete `@_hsdata`/`@_hsready` messages (from
// the Reassembler) and timer expiries; after every input drain poll_send() (messages to send to
// this peer, in order: send each as one action message), then poll_event(), then re-arm one timer
// at poll_timeout(). Randomness is an input (the Rng, used once for the challenge); the clock is
// never read. Terminal states: after HandshakeActive or HandshakeFailed nothing more happens and
// every input is ignored (§10: `@_hsdata` after activation is ignored). On failure JS sends no
// wire message; neither do we.
//
// Not thread-safe: one owner (the room's strand).

#include "core/bytes.hpp"
#include "core/rng.hpp"
#include "core/time.hpp"
#include "room/payload_kind.hpp"
#include "room/tuning.hpp"

#include <deque>
#include <optional>
#include <string>
#include <variant>

namespace posthorn::room {

struct HandshakeConfig {
  std::string self_id;
  std::string remote_id;
  std::string password; ///< empty = no password step
  std::string app_id;
  std::string room_id;
  Duration timeout = tuning::kHandshakeTimeout;
  /// The application runs its own step (JS onPeerHandshake) after the password step.
  bool user_step = false;
};

// --- messages to send to the remote peer ---
/// Send one `@_hsdata` action message with this payload (and metadata chunk, if any).
struct SendHsData {
  PayloadKind kind = PayloadKind::Json;
  Bytes data;
  std::optional<std::string> metadata_json;
};
/// Send `@_hsready` with the empty string payload (tag 0x01).
struct SendHsReady {};
using HandshakeSend = std::variant<SendHsData, SendHsReady>;

// --- events ---
/// Both sides passed: the peer joined the room.
struct HandshakeActive {};
/// The handshake failed or timed out; detach the room from this peer. `reason` is e.g.
/// "incorrect password for overlapping room" or "handshake timed out after 10000ms".
struct HandshakeFailed {
  std::string reason;
};
/// The user step begins: the application may send_user_data() and will see UserData events; it
/// ends it with user_step_done().
struct UserStepStarted {};
/// An `@_hsdata` message for the user step (JS: receive() → {data, metadata}).
struct UserData {
  PayloadKind kind = PayloadKind::Json;
  Bytes data;
  std::optional<std::string> metadata_json;
};
using Active = HandshakeActive;
using Failed = HandshakeFailed;
using HandshakeEvent = std::variant<HandshakeActive, HandshakeFailed, UserStepStarted, UserData>;

class Handshake {
public:
  enum class State : std::uint8_t { Pending, Active, Failed };

  /// Starts the timer (deadline = now + timeout). The initiator with a password queues its
  /// challenge at once; without a password or user step, `@_hsready` is queued at once.
  Handshake(HandshakeConfig config, Rng& rng, TimePoint now);

  /// A complete `@_hsdata` message from the remote peer (payload decoded by the Reassembler).
  void handle_hsdata(TimePoint now, PayloadKind kind, ByteView data,
                     std::optional<std::string> metadata_json);
  /// The remote's `@_hsready`.
  void handle_hsready(TimePoint now);
  void handle_timeout(TimePoint now);
  /// The application finished its step: ok → our `@_hsready` goes out; otherwise the handshake
  /// fails with `error` (or "handshake failed" if empty). Ignored outside the user step.
  void user_step_done(TimePoint now, bool ok, std::string error);
  /// During the user step: one `@_hsdata` message to the remote (JS send(data, metadata)).
  /// Ignored outside the user step.
  void send_user_data(PayloadKind kind, Bytes data, std::optional<std::string> metadata_json);

  std::optional<HandshakeSend> poll_send();
  std::optional<HandshakeEvent> poll_event();
  /// The deadline while pending; nullopt once active or failed.
  [[nodiscard]] std::optional<TimePoint> poll_timeout() const;
  [[nodiscard]] bool has_pending_output() const noexcept {
    return !sends_.empty() || !events_.empty();
  }

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] bool is_active() const noexcept { return state_ == State::Active; }
  [[nodiscard]] bool is_initiator() const noexcept { return initiator_; }
  /// Our local steps passed and `@_hsready` was queued.
  [[nodiscard]] bool local_passed() const noexcept { return step_ == Step::Done; }
  [[nodiscard]] bool remote_ready() const noexcept { return remote_ready_; }

private:
  enum class Step : std::uint8_t { Password, User, Done };

  void expire_if_due(TimePoint now);
  void handle_password_message(PayloadKind kind, ByteView data);
  void start_user_step();
  void local_steps_passed();
  void maybe_activate();
  void fail(std::string reason);
  [[nodiscard]] std::string expected_hash(std::string_view challenge) const;

  HandshakeConfig config_;
  bool initiator_;
  std::string challenge_; // initiator with a password
  TimePoint deadline_;
  State state_ = State::Pending;
  Step step_ = Step::Password;
  bool remote_ready_ = false;
  std::deque<HandshakeSend> sends_;
  std::deque<HandshakeEvent> events_;
};

/// The password response hash of §10 / TV13: lowercase hex of
/// SHA-256(challenge ":" password ":" app_id ":" room_id).
std::string password_response_hash(std::string_view challenge, std::string_view password,
                                   std::string_view app_id, std::string_view room_id);

} // namespace posthorn::room
