#include "room/handshake.hpp"

#include "core/crypto.hpp"
#include "room/json_text.hpp"

#include <chrono>

namespace posthorn::room {
namespace {

/// Trystero's genId alphabet (§1); the challenge is genId(36).
constexpr std::string_view kIdAlphabet =
    "0123456789AaBbCcDdEeFfGgHhIiJjKkLlMmNnOoPpQqRrSsTtUuVvWwXxYyZz";
constexpr std::size_t kChallengeLength = 36;

constexpr std::string_view kPasswordField = "__trystero_pw";
// JS: mkErr("incorrect password for overlapping room"), for a wrong shape or a wrong hash alike.
constexpr std::string_view kWrongPassword = "incorrect password for overlapping room";

Bytes to_bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

/// The string member `name` of a JSON object payload, if the payload is one and has it.
std::optional<std::string> string_member(const std::vector<detail::JsonMember>& members,
                                         std::string_view name) {
  const auto* member = detail::find_member(members, name);
  if (!member) return std::nullopt;
  return detail::json_string_value(member->value);
}

} // namespace

std::string password_response_hash(std::string_view challenge, std::string_view password,
                                   std::string_view app_id, std::string_view room_id) {
  std::string input;
  input.reserve(challenge.size() + password.size() + app_id.size() + room_id.size() + 3);
  input.append(challenge).append(":").append(password).append(":").append(app_id).append(":");
  input.append(room_id);
  const auto digest = crypto::sha256(as_bytes(input));
  return to_hex(digest);
}

Handshake::Handshake(HandshakeConfig config, Rng& rng, TimePoint now)
    : config_(std::move(config)), initiator_(config_.self_id < config_.remote_id),
      deadline_(now + config_.timeout) {
  // §10 step 2: the password step runs only with a non-empty password.
  if (config_.password.empty()) {
    start_user_step();
    return;
  }
  if (initiator_) {
    challenge_ = rng.string(kChallengeLength, kIdAlphabet);
    const std::string json =
        "{\"__trystero_pw\":\"challenge\",\"c\":" + detail::json_quote(challenge_) + "}";
    sends_.push_back(SendHsData{PayloadKind::Json, to_bytes_of(json), std::nullopt});
  }
}

std::string Handshake::expected_hash(std::string_view challenge) const {
  return password_response_hash(challenge, config_.password, config_.app_id, config_.room_id);
}

void Handshake::expire_if_due(TimePoint now) {
  if (state_ == State::Pending && now >= deadline_) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(config_.timeout).count();
    fail("handshake timed out after " + std::to_string(ms) + "ms");
  }
}

void Handshake::handle_hsdata(TimePoint now, PayloadKind kind, ByteView data,
                              std::optional<std::string> metadata_json) {
  expire_if_due(now);
  if (state_ != State::Pending) return; // §10: @_hsdata after activation is ignored
  switch (step_) {
  case Step::Password: handle_password_message(kind, data); return;
  case Step::User:
    events_.push_back(UserData{kind, Bytes(data.begin(), data.end()), std::move(metadata_json)});
    return;
  case Step::Done: return; // JS queues it for a receive() that never comes
  }
}

void Handshake::handle_password_message(PayloadKind kind, ByteView data) {
  // JS checks `typeof data === "object"` and the field types; a string or binary payload, a
  // non-object, a missing field or a wrong value all fail the same way.
  std::optional<std::vector<detail::JsonMember>> members;
  if (kind == PayloadKind::Json) members = detail::parse_json_object(as_string_view(data));
  if (!members) return fail(std::string(kWrongPassword));
  const auto marker = string_member(*members, kPasswordField);
  if (initiator_) {
    const auto h = string_member(*members, "h");
    if (marker != "response" || !h) return fail(std::string(kWrongPassword));
    const std::string expected = expected_hash(challenge_);
    if (!crypto::equal_constant_time(as_bytes(*h), as_bytes(expected)))
      return fail(std::string(kWrongPassword));
  } else {
    const auto c = string_member(*members, "c");
    if (marker != "challenge" || !c) return fail(std::string(kWrongPassword));
    const std::string json =
        "{\"__trystero_pw\":\"response\",\"h\":" + detail::json_quote(expected_hash(*c)) + "}";
    sends_.push_back(SendHsData{PayloadKind::Json, to_bytes_of(json), std::nullopt});
  }
  start_user_step();
}

void Handshake::start_user_step() {
  if (!config_.user_step) {
    local_steps_passed();
    return;
  }
  step_ = Step::User;
  events_.push_back(UserStepStarted{});
}

void Handshake::local_steps_passed() {
  step_ = Step::Done;
  // §10 step 3: always sent, even with no password and no user step.
  sends_.push_back(SendHsReady{});
  maybe_activate();
}

void Handshake::handle_hsready(TimePoint now) {
  expire_if_due(now);
  if (state_ != State::Pending) return;
  remote_ready_ = true;
  maybe_activate();
}

void Handshake::maybe_activate() {
  // §10 step 4: active once the local steps passed AND the remote's @_hsready arrived.
  if (state_ != State::Pending || step_ != Step::Done || !remote_ready_) return;
  state_ = State::Active;
  events_.push_back(HandshakeActive{});
}

void Handshake::handle_timeout(TimePoint now) {
  expire_if_due(now);
}

void Handshake::user_step_done(TimePoint now, bool ok, std::string error) {
  expire_if_due(now);
  if (state_ != State::Pending || step_ != Step::User) return;
  if (!ok) return fail(error.empty() ? "handshake failed" : std::move(error));
  local_steps_passed();
}

void Handshake::send_user_data(PayloadKind kind, Bytes data,
                               std::optional<std::string> metadata_json) {
  if (state_ != State::Pending || step_ != Step::User) return;
  sends_.push_back(SendHsData{kind, std::move(data), std::move(metadata_json)});
}

void Handshake::fail(std::string reason) {
  state_ = State::Failed;
  sends_.clear(); // §10 step 5: a failure sends nothing (not even a queued @_hsready)
  events_.push_back(HandshakeFailed{std::move(reason)});
}

std::optional<HandshakeSend> Handshake::poll_send() {
  if (sends_.empty()) return std::nullopt;
  HandshakeSend out = std::move(sends_.front());
  sends_.pop_front();
  return out;
}

std::optional<HandshakeEvent> Handshake::poll_event() {
  if (events_.empty()) return std::nullopt;
  HandshakeEvent out = std::move(events_.front());
  events_.pop_front();
  return out;
}

std::optional<TimePoint> Handshake::poll_timeout() const {
  if (state_ != State::Pending) return std::nullopt;
  return deadline_;
}

} // namespace posthorn::room
