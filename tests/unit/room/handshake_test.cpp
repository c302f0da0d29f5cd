#include "room/handshake.hpp"

#include "core/overloaded.hpp"
#include "room_test_util.hpp"

#include <gtest/gtest.h>

namespace posthorn::room {
namespace {

using test::text_of;

const TimePoint kStart{};
constexpr const char* kLow = "AAAAAAAAAAAAAAAAAAAA";  // initiator: "A" < "z"
constexpr const char* kHigh = "zzzzzzzzzzzzzzzzzzzz"; // responder

HandshakeConfig config(const char* self, const char* remote, std::string password = {},
                       bool user_step = false) {
  HandshakeConfig c;
  c.self_id = self;
  c.remote_id = remote;
  c.password = std::move(password);
  c.app_id = "posthorn-test";
  c.room_id = "lobby";
  c.user_step = user_step;
  return c;
}

std::vector<HandshakeSend> sends(Handshake& h) {
  std::vector<HandshakeSend> out;
  while (auto s = h.poll_send())
    out.push_back(std::move(*s));
  return out;
}

std::vector<HandshakeEvent> events(Handshake& h) {
  std::vector<HandshakeEvent> out;
  while (auto e = h.poll_event())
    out.push_back(std::move(*e));
  return out;
}

bool has_active(const std::vector<HandshakeEvent>& ev) {
  for (const auto& e : ev)
    if (std::holds_alternative<HandshakeActive>(e)) return true;
  return false;
}

std::optional<std::string> failure(const std::vector<HandshakeEvent>& ev) {
  for (const auto& e : ev)
    if (const auto* f = std::get_if<HandshakeFailed>(&e)) return f->reason;
  return std::nullopt;
}

/// Delivers everything `from` wants to send to `to`, as the room would (§10).
void deliver(Handshake& from, Handshake& to, TimePoint now) {
  for (auto& s : sends(from)) {
    std::visit(overloaded{
                   [&](SendHsData& d) { to.handle_hsdata(now, d.kind, d.data, d.metadata_json); },
                   [&](SendHsReady&) { to.handle_hsready(now); },
               },
               s);
  }
}

TEST(Handshake, Tv13ResponseHash) {
  EXPECT_EQ(password_response_hash("abcdefghijklmnopqrstuvwxyz0123456789", "secret",
                                   "posthorn-test", "lobby"),
            "070e6b6b15aa5853bf17ea9fb162744b767f791f2ccaa8fef041c0bc52959914");
}

TEST(Handshake, Tv13ResponderAnswersTheChallengeThenSendsReady) {
  SeededRng rng(1);
  Handshake h(config(kHigh, kLow, "secret"), rng, kStart);
  EXPECT_FALSE(h.is_initiator());
  EXPECT_TRUE(sends(h).empty()); // the responder waits for the challenge
  h.handle_hsdata(
      kStart, PayloadKind::Json,
      as_bytes(R"({"__trystero_pw":"challenge","c":"abcdefghijklmnopqrstuvwxyz0123456789"})"),
      std::nullopt);
  auto out = sends(h);
  ASSERT_EQ(out.size(), 2u);
  const auto& data = std::get<SendHsData>(out[0]);
  EXPECT_EQ(data.kind, PayloadKind::Json);
  EXPECT_EQ(
      text_of(data.data),
      R"({"__trystero_pw":"response","h":"070e6b6b15aa5853bf17ea9fb162744b767f791f2ccaa8fef041c0bc52959914"})");
  EXPECT_FALSE(data.metadata_json);
  EXPECT_TRUE(std::holds_alternative<SendHsReady>(out[1]));
  EXPECT_TRUE(h.local_passed());
  EXPECT_TRUE(events(h).empty());
  h.handle_hsready(kStart);
  EXPECT_TRUE(has_active(events(h)));
}

TEST(Handshake, InitiatorSendsA36CharacterChallenge) {
  SeededRng rng(7);
  Handshake h(config(kLow, kHigh, "secret"), rng, kStart);
  EXPECT_TRUE(h.is_initiator());
  auto out = sends(h);
  ASSERT_EQ(out.size(), 1u);
  const std::string json = text_of(std::get<SendHsData>(out[0]).data);
  const std::string prefix = R"({"__trystero_pw":"challenge","c":")";
  ASSERT_EQ(json.rfind(prefix, 0), 0u) << json;
  const std::string c = json.substr(prefix.size(), 36);
  EXPECT_EQ(json.substr(prefix.size() + 36), "\"}");
  for (char ch : c)
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch))) << json;
}

TEST(Handshake, WithoutPasswordReadyIsSentAtOnce) {
  SeededRng rng(1);
  for (const char* self : {kLow, kHigh}) {
    Handshake h(config(self, self == kLow ? kHigh : kLow), rng, kStart);
    auto out = sends(h);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<SendHsReady>(out[0]));
    EXPECT_TRUE(events(h).empty());
    h.handle_hsready(kStart + seconds(1));
    EXPECT_TRUE(has_active(events(h)));
    EXPECT_TRUE(h.is_active());
    EXPECT_FALSE(h.poll_timeout());
  }
}

TEST(Handshake, RemoteReadyMayArriveFirst) {
  SeededRng rng(1);
  Handshake h(config(kHigh, kLow, "pw"), rng, kStart);
  h.handle_hsready(kStart);
  EXPECT_TRUE(h.remote_ready());
  EXPECT_TRUE(events(h).empty());
  h.handle_hsdata(kStart, PayloadKind::Json, as_bytes(R"({"__trystero_pw":"challenge","c":"x"})"),
                  std::nullopt);
  EXPECT_TRUE(has_active(events(h)));
}

TEST(Handshake, BothRolesWithPasswordActivate) {
  SeededRng rng_a(1), rng_b(2);
  Handshake a(config(kLow, kHigh, "secret"), rng_a, kStart);
  Handshake b(config(kHigh, kLow, "secret"), rng_b, kStart);
  const TimePoint t = kStart + milliseconds(5);
  deliver(a, b, t); // challenge
  deliver(b, a, t); // response + ready
  deliver(a, b, t); // ready
  EXPECT_TRUE(has_active(events(a)));
  EXPECT_TRUE(has_active(events(b)));
}

TEST(Handshake, BothRolesWithoutPasswordActivate) {
  SeededRng rng(1);
  Handshake a(config(kLow, kHigh), rng, kStart);
  Handshake b(config(kHigh, kLow), rng, kStart);
  deliver(a, b, kStart);
  deliver(b, a, kStart);
  EXPECT_TRUE(has_active(events(a)));
  EXPECT_TRUE(has_active(events(b)));
}

TEST(Handshake, WrongPasswordFailsTheInitiatorAndTimesOutTheResponder) {
  SeededRng rng(1);
  Handshake a(config(kLow, kHigh, "secret"), rng, kStart);
  Handshake b(config(kHigh, kLow, "other"), rng, kStart);
  deliver(a, b, kStart);
  deliver(b, a, kStart);
  EXPECT_EQ(failure(events(a)), "incorrect password for overlapping room");
  EXPECT_TRUE(sends(a).empty()); // JS sends nothing on failure
  EXPECT_EQ(a.state(), Handshake::State::Failed);
  // b passed its local step but never hears @_hsready.
  EXPECT_TRUE(events(b).empty());
  b.handle_timeout(kStart + milliseconds(9999));
  EXPECT_TRUE(events(b).empty());
  b.handle_timeout(kStart + milliseconds(10000));
  EXPECT_EQ(failure(events(b)), "handshake timed out after 10000ms");
}

TEST(Handshake, WrongShapeFailsLikeAWrongPassword) {
  const std::vector<std::pair<PayloadKind, std::string>> bad_responses = {
      {PayloadKind::Text, R"({"__trystero_pw":"response","h":"x"})"}, // a string, not an object
      {PayloadKind::Binary, "\x01"},
      {PayloadKind::Json, "[1]"},
      {PayloadKind::Json, "null"},
      {PayloadKind::Json, R"({"__trystero_pw":"challenge","h":"x"})"},
      {PayloadKind::Json, R"({"__trystero_pw":"response","h":1})"},
      {PayloadKind::Json, R"({"__trystero_pw":"response"})"},
      {PayloadKind::Json, R"({"__trystero_pw":"response","h":"00"})"},
  };
  for (const auto& [kind, text] : bad_responses) {
    SeededRng rng(1);
    Handshake a(config(kLow, kHigh, "secret"), rng, kStart);
    (void)sends(a);
    a.handle_hsdata(kStart, kind, as_bytes(text), std::nullopt);
    EXPECT_EQ(failure(events(a)), "incorrect password for overlapping room") << text;
  }
  SeededRng rng(1);
  Handshake b(config(kHigh, kLow, "secret"), rng, kStart);
  b.handle_hsdata(kStart, PayloadKind::Json, as_bytes(R"({"__trystero_pw":"challenge","c":5})"),
                  std::nullopt);
  EXPECT_EQ(failure(events(b)), "incorrect password for overlapping room");
}

TEST(Handshake, TimesOutWithTheConfiguredTimeout) {
  SeededRng rng(1);
  auto c = config(kLow, kHigh, "secret");
  c.timeout = milliseconds(2500);
  Handshake h(c, rng, kStart);
  EXPECT_EQ(h.poll_timeout(), kStart + milliseconds(2500));
  h.handle_timeout(kStart + milliseconds(2500));
  EXPECT_EQ(failure(events(h)), "handshake timed out after 2500ms");
  EXPECT_FALSE(h.poll_timeout());
  EXPECT_TRUE(sends(h).empty());
}

TEST(Handshake, LateInputAfterTheDeadlineFails) {
  SeededRng rng(1);
  Handshake h(config(kLow, kHigh), rng, kStart);
  (void)sends(h);
  h.handle_hsready(kStart + seconds(11));
  const auto ev = events(h);
  EXPECT_TRUE(failure(ev));
  EXPECT_FALSE(has_active(ev));
}

TEST(Handshake, InputAfterTheEndIsIgnored) {
  SeededRng rng(1);
  Handshake h(config(kLow, kHigh), rng, kStart);
  (void)sends(h);
  h.handle_hsready(kStart);
  (void)events(h);
  h.handle_hsdata(kStart, PayloadKind::Json, as_bytes("{}"), std::nullopt); // §10: ignored
  h.handle_hsready(kStart);
  h.handle_timeout(kStart + seconds(60));
  EXPECT_TRUE(events(h).empty());
  EXPECT_TRUE(sends(h).empty());
  EXPECT_TRUE(h.is_active());
}

TEST(Handshake, UserStepRunsAfterThePasswordStep) {
  SeededRng rng(1);
  Handshake b(config(kHigh, kLow, "secret", true), rng, kStart);
  b.handle_hsdata(kStart, PayloadKind::Json, as_bytes(R"({"__trystero_pw":"challenge","c":"c"})"),
                  std::nullopt);
  auto out = sends(b);
  ASSERT_EQ(out.size(), 1u); // the response, no @_hsready yet
  EXPECT_TRUE(std::holds_alternative<SendHsData>(out[0]));
  auto ev = events(b);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<UserStepStarted>(ev[0]));

  b.handle_hsready(kStart); // the remote may be done first
  b.handle_hsdata(kStart, PayloadKind::Text, as_bytes("hello"), std::string("{\"v\":2}"));
  ev = events(b);
  ASSERT_EQ(ev.size(), 1u);
  const auto& data = std::get<UserData>(ev[0]);
  EXPECT_EQ(data.kind, PayloadKind::Text);
  EXPECT_EQ(text_of(data.data), "hello");
  EXPECT_EQ(data.metadata_json, "{\"v\":2}");

  b.send_user_data(PayloadKind::Binary, {1, 2}, std::string("[]"));
  out = sends(b);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<SendHsData>(out[0]).metadata_json, "[]");

  b.user_step_done(kStart, true, {});
  out = sends(b);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<SendHsReady>(out[0]));
  EXPECT_TRUE(has_active(events(b)));
}

TEST(Handshake, UserStepWithoutPasswordStartsAtOnce) {
  SeededRng rng(1);
  Handshake h(config(kLow, kHigh, "", true), rng, kStart);
  EXPECT_TRUE(sends(h).empty());
  auto ev = events(h);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<UserStepStarted>(ev[0]));
  EXPECT_TRUE(h.has_pending_output() == false);
}

TEST(Handshake, UserStepRefusalFails) {
  SeededRng rng(1);
  Handshake h(config(kLow, kHigh, "", true), rng, kStart);
  (void)events(h);
  h.user_step_done(kStart, false, "not on the guest list");
  EXPECT_EQ(failure(events(h)), "not on the guest list");
  EXPECT_TRUE(sends(h).empty());
  Handshake g(config(kLow, kHigh, "", true), rng, kStart);
  (void)events(g);
  g.user_step_done(kStart, false, "");
  EXPECT_EQ(failure(events(g)), "handshake failed");
}

TEST(Handshake, UserStepDoneOutsideTheUserStepIsIgnored) {
  SeededRng rng(1);
  Handshake h(config(kLow, kHigh, "secret", true), rng, kStart);
  (void)sends(h);
  h.user_step_done(kStart, true, {}); // still in the password step
  h.send_user_data(PayloadKind::Text, {}, std::nullopt);
  EXPECT_TRUE(sends(h).empty());
  EXPECT_FALSE(h.local_passed());
}

TEST(Handshake, BothRolesWithPasswordAndUserStep) {
  SeededRng rng(3);
  Handshake a(config(kLow, kHigh, "pw", true), rng, kStart);
  Handshake b(config(kHigh, kLow, "pw", true), rng, kStart);
  deliver(a, b, kStart);
  deliver(b, a, kStart);
  for (Handshake* h : {&a, &b}) {
    auto ev = events(*h);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<UserStepStarted>(ev[0]));
    h->send_user_data(PayloadKind::Json, to_bytes("\"token\""), std::nullopt);
  }
  deliver(a, b, kStart);
  deliver(b, a, kStart);
  for (Handshake* h : {&a, &b}) {
    auto ev = events(*h);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(text_of(std::get<UserData>(ev[0]).data), "\"token\"");
    h->user_step_done(kStart, true, {});
  }
  deliver(a, b, kStart);
  deliver(b, a, kStart);
  EXPECT_TRUE(has_active(events(a)));
  EXPECT_TRUE(has_active(events(b)));
}

} // namespace
} // namespace posthorn::room
