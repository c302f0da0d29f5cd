// Two native runtimes meet in a room through a real mosquitto on loopback and use the public API
// the way an application does: joins, every payload kind with metadata, targeted sends,
// request/response (incl. a handler error), ping, a password mismatch, and leave.
#include "support/mosquitto_server.hpp"
#include "support/room_observer.hpp"

#include <posthorn/posthorn.hpp>

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>

namespace posthorn {
namespace {

using namespace std::chrono_literals;

using test::RoomObserver;

class RoomOverMqtt : public ::testing::Test {
protected:
  void SetUp() override {
    if (!test::MosquittoServer::available()) GTEST_SKIP() << "mosquitto is not installed";
    broker_ = std::make_unique<test::MosquittoServer>();
  }
  RoomConfig config(std::string password = {}) {
    return {.app_id = "posthorn-it-" +
                      std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()),
            .password = std::move(password),
            .strategy = strategies::mqtt({broker_->ws_url()})};
  }
  static RuntimeOptions loopback() { return {.bind_addresses = {"127.0.0.1"}}; }

  std::unique_ptr<test::MosquittoServer> broker_;
};

TEST_F(RoomOverMqtt, TwoPeersJoinExchangeEveryPayloadKindAndLeave) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto room_a = join_room(rt_a, config(), "lobby");
  RoomObserver obs_a(room_a);
  auto chat_b_received = std::make_shared<std::promise<std::vector<std::string>>>();
  auto room_b = join_room(rt_b, config(), "lobby");
  RoomObserver obs_b(room_b);
  auto chat_b = room_b.make_action("chat");
  std::vector<std::string> got;
  std::mutex got_mutex;
  chat_b.on_message([&](Payload p, const MessageInfo& info) {
    std::lock_guard lock(got_mutex);
    got.push_back(std::string(to_string(p.kind())) + ":" + std::string(p.text()) + ":" +
                  info.metadata.value_or("-"));
    obs_b.push("chat");
  });

  EXPECT_EQ(obs_a.wait("join:"), "join:" + rt_b.self_id());
  EXPECT_EQ(obs_b.wait("join:"), "join:" + rt_a.self_id());
  EXPECT_EQ(room_a.peers(), std::vector<PeerId>{rt_b.self_id()});

  auto chat_a = room_a.make_action("chat");
  EXPECT_NO_THROW(chat_a.async_send(Payload::text("héllo"), {}, boost::asio::use_future).get());
  EXPECT_NO_THROW(chat_a
                      .async_send(Payload::json(R"({"n":1})"), {.metadata = R"({"m":true})"},
                                  boost::asio::use_future)
                      .get());
  EXPECT_NO_THROW(chat_a
                      .async_send(Payload::binary(std::vector<std::uint8_t>{1, 2, 3}),
                                  {.targets = {rt_b.self_id()}}, boost::asio::use_future)
                      .get());
  for (int i = 0; i < 3; ++i)
    obs_b.wait("chat");
  {
    std::lock_guard lock(got_mutex);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], "text:héllo:-");
    EXPECT_EQ(got[1], R"(json:{"n":1}:{"m":true})");
    EXPECT_EQ(got[2], std::string("binary:\x01\x02\x03:-"));
  }

  auto rtt = room_a.async_ping(rt_b.self_id(), boost::asio::use_future).get();
  EXPECT_GT(rtt.count(), 0.0);

  room_b.leave();
  EXPECT_EQ(obs_a.wait("leave:"), "leave:" + rt_b.self_id());
  EXPECT_TRUE(room_a.peers().empty());
}

TEST_F(RoomOverMqtt, RequestsAreAnsweredOrFailWithTheHandlersMessage) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto room_a = join_room(rt_a, config("secret"), "rpc");
  auto room_b = join_room(rt_b, config("secret"), "rpc");
  RoomObserver obs_a(room_a), obs_b(room_b);
  room_b.make_action("echo").on_request(
      [](Payload p, const MessageInfo&, Responder r) { r.reply(std::move(p)); });
  room_b.make_action("fail").on_request(
      [](Payload, const MessageInfo&, Responder r) { r.fail("nope"); });
  obs_a.wait("join:");
  obs_b.wait("join:");

  const PeerId b = room_b.self_id();
  auto echoed =
      room_a.make_action("echo")
          .async_request(Payload::text("hi"), b, {.timeout = 10s}, boost::asio::use_future)
          .get();
  EXPECT_EQ(echoed.peer, b);
  EXPECT_FALSE(echoed.error) << echoed.error_message;
  EXPECT_EQ(echoed.payload.text(), "hi");

  auto failed =
      room_a.make_action("fail")
          .async_request(Payload::text("hi"), b, {.timeout = 10s}, boost::asio::use_future)
          .get();
  EXPECT_TRUE(failed.error);
  EXPECT_EQ(failed.error_message, "nope");

  // Several targets: one Response each, in the order asked, whatever the order of the answers.
  auto many = room_a.make_action("echo")
                  .async_request_many(Payload::json("[1,2]"), {"nobody-here", b}, {.timeout = 10s},
                                      boost::asio::use_future)
                  .get();
  ASSERT_EQ(many.size(), 2u);
  EXPECT_EQ(many[0].peer, "nobody-here");
  EXPECT_EQ(many[0].error_message, "peer is not in the room");
  EXPECT_EQ(many[1].peer, b);
  EXPECT_FALSE(many[1].error) << many[1].error_message;
  EXPECT_EQ(many[1].payload.kind(), PayloadKind::Json);
  EXPECT_EQ(many[1].payload.text(), "[1,2]");

  // No targets: every peer in the room.
  auto everyone = room_a.make_action("echo")
                      .async_request_many(Payload::text("all"), {}, {}, boost::asio::use_future)
                      .get();
  ASSERT_EQ(everyone.size(), 1u);
  EXPECT_EQ(everyone[0].peer, b);
  EXPECT_EQ(everyone[0].payload.text(), "all");
}

// A request to a peer that never answers settles with a timeout, not never.
TEST_F(RoomOverMqtt, ARequestNobodyAnswersTimesOut) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto room_a = join_room(rt_a, config(""), "rpc-timeout");
  auto room_b = join_room(rt_b, config(""), "rpc-timeout");
  RoomObserver obs_a(room_a), obs_b(room_b);
  std::promise<Responder> held; // b keeps the request unanswered until the end of the test
  room_b.make_action("slow").on_request(
      [&](Payload, const MessageInfo&, Responder r) { held.set_value(std::move(r)); });
  obs_a.wait("join:");
  obs_b.wait("join:");
  auto late = room_a.make_action("slow")
                  .async_request(Payload::text("?"), room_b.self_id(), {.timeout = 300ms},
                                 boost::asio::use_future)
                  .get();
  EXPECT_EQ(late.error, boost::system::errc::timed_out);
  EXPECT_EQ(late.error_message, "request timed out");
  auto responder = held.get_future().get();
  responder.reply(Payload::text("too late")); // ignored: the request already settled
}

// An action can stream and serve requests at once (posthorn peer does): whether a message is a
// request shows only in its metadata (§11), so such an action buffers messages whole. Requests
// reach the handler; plain messages still reach the sink, in one piece.
TEST_F(RoomOverMqtt, AnActionThatStreamsAlsoServesRequests) {
  struct Collect : MessageSink {
    std::promise<std::string>* out;
    std::string got;
    explicit Collect(std::promise<std::string>* o) : out(o) {}
    void write(std::span<const std::uint8_t> b) override { got.append(b.begin(), b.end()); }
    void finish() override { out->set_value(got); }
    void abort(std::string_view) override {}
  };
  Runtime rt_a(loopback()), rt_b(loopback());
  auto room_a = join_room(rt_a, config(""), "mixed");
  auto room_b = join_room(rt_b, config(""), "mixed");
  RoomObserver obs_a(room_a), obs_b(room_b);
  std::promise<std::string> streamed;
  auto served = room_b.make_action("both");
  served.on_stream(
      [&](const MessageInfo&, PayloadKind) { return std::make_unique<Collect>(&streamed); });
  served.on_request([](Payload p, const MessageInfo&, Responder r) { r.reply(std::move(p)); });
  obs_a.wait("join:");
  obs_b.wait("join:");

  auto action = room_a.make_action("both");
  auto echoed = action
                    .async_request(Payload::text("ask"), room_b.self_id(), {.timeout = 10s},
                                   boost::asio::use_future)
                    .get();
  EXPECT_FALSE(echoed.error) << echoed.error_message;
  EXPECT_EQ(echoed.payload.text(), "ask");

  action.async_send(Payload::text("plain"), {}, boost::asio::use_future).get();
  auto got = streamed.get_future();
  ASSERT_EQ(got.wait_for(10s), std::future_status::ready) << "the plain message never arrived";
  EXPECT_EQ(got.get(), "plain");
}

// The application step of the handshake (PeerHandshake, spec §10): the initiator knocks with
// metadata, the other side answers and admits, the initiator admits on the answer. Both join.
TEST_F(RoomOverMqtt, AnApplicationHandshakeExchangesMessagesBeforeTheJoin) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto room_a = join_room(rt_a, config("pw"), "door");
  auto room_b = join_room(rt_b, config("pw"), "door");
  std::promise<std::string> seen_by_responder;
  auto step = [&](PeerHandshake h) {
    h.on_receive([h, &seen_by_responder](Payload p, std::optional<std::string> metadata) {
      if (h.is_initiator()) {
        if (p.text() == "come in")
          h.admit();
        else
          h.reject("wrong answer");
      } else {
        seen_by_responder.set_value(std::string(p.text()) + " " + metadata.value_or("(none)"));
        h.send(Payload::text("come in"));
        h.admit();
      }
    });
    if (h.is_initiator()) h.send(Payload::text("knock"), R"({"who":"a friend"})");
  };
  room_a.on_peer_handshake(step);
  room_b.on_peer_handshake(step);
  RoomObserver obs_a(room_a), obs_b(room_b);
  EXPECT_EQ(obs_a.wait("join:"), "join:" + rt_b.self_id());
  EXPECT_EQ(obs_b.wait("join:"), "join:" + rt_a.self_id());
  EXPECT_EQ(seen_by_responder.get_future().get(), R"(knock {"who":"a friend"})");
}

// A rejection keeps the peer out: the rejecting side reports "handshake failed: <reason>"; the
// other side admitted, never hears the other @_hsready, and times out.
TEST_F(RoomOverMqtt, ARejectedApplicationHandshakeIsAJoinErrorOnBothSides) {
  Runtime rt_a(loopback()), rt_b(loopback());
  RoomConfig short_wait = config();
  short_wait.handshake_timeout = 2s;
  auto room_a = join_room(rt_a, short_wait, "door");
  auto room_b = join_room(rt_b, short_wait, "door");
  room_a.on_peer_handshake([](PeerHandshake h) { h.reject("go away"); });
  room_b.on_peer_handshake([](PeerHandshake h) { h.admit(); });
  RoomObserver obs_a(room_a), obs_b(room_b);
  EXPECT_EQ(obs_a.wait("join-error:"), "join-error:handshake failed: go away");
  EXPECT_EQ(obs_b.wait("join-error:"), "join-error:handshake timed out after 2000ms");
  EXPECT_TRUE(room_a.peers().empty());
  EXPECT_TRUE(room_b.peers().empty());
}

// A message over the receiver's limit is dropped, never delivered half, and the application
// hears about it through on_error (user data is never lost silently); the room goes on.
TEST_F(RoomOverMqtt, AMessageOverTheReceiveLimitIsAnErrorNotASilentLoss) {
  Runtime rt_a(loopback()), rt_b(loopback());
  RoomConfig small = config();
  small.receive_limits.max_message_bytes = 20000;
  auto room_a = join_room(rt_a, config(), "limits");
  auto room_b = join_room(rt_b, small, "limits");
  std::promise<RoomError> error;
  room_b.on_error([&](const RoomError& e) { error.set_value(e); });
  std::promise<std::string> delivered;
  room_b.make_action("big").on_message(
      [&](Payload p, const MessageInfo&) { delivered.set_value(std::string(p.text())); });
  RoomObserver obs_a(room_a), obs_b(room_b);
  obs_a.wait("join:");
  obs_b.wait("join:");

  auto big = room_a.make_action("big");
  big.async_send(Payload::text(std::string(50000, 'x')), {}, boost::asio::use_future).get();
  auto e = error.get_future();
  ASSERT_EQ(e.wait_for(10s), std::future_status::ready) << "no on_error for the dropped message";
  const RoomError got = e.get();
  EXPECT_EQ(got.peer, rt_a.self_id());
  EXPECT_EQ(got.action, "big");
  EXPECT_NE(got.message.find("dropped an incoming 'big' message"), std::string::npos)
      << got.message;
  // The next message within the limit arrives: only the oversized one was dropped.
  big.async_send(Payload::text("small"), {}, boost::asio::use_future).get();
  auto d = delivered.get_future();
  ASSERT_EQ(d.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(d.get(), "small");
}

TEST_F(RoomOverMqtt, AWrongPasswordIsAJoinErrorNotAJoin) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto room_a = join_room(rt_a, config("right"), "vault");
  auto room_b = join_room(rt_b, config("wrong"), "vault");
  RoomObserver both;
  both.attach(room_a);
  both.attach(room_b);
  // Whichever side answers fails to decrypt the offer (spec §3); nobody joins.
  EXPECT_EQ(both.wait("join-error:", 30s),
            "join-error:incorrect room password when decrypting offer");
  EXPECT_TRUE(room_a.peers().empty());
  EXPECT_TRUE(room_b.peers().empty());
}

TEST(RoomApi, ActionNamesAreValidatedAtTheBoundary) {
  Runtime rt({.bind_addresses = {"127.0.0.1"}});
  auto room =
      join_room(rt, {.app_id = "names", .strategy = strategies::mqtt({"ws://127.0.0.1:9"})}, "r");
  EXPECT_THROW((void)room.make_action(""), std::invalid_argument);
  EXPECT_THROW((void)room.make_action("@_ping"), std::invalid_argument);
  EXPECT_THROW((void)room.make_action(std::string(33, 'x')), std::invalid_argument);
  EXPECT_NO_THROW((void)room.make_action(std::string(32, 'x')));
  room.leave();
}

} // namespace
} // namespace posthorn
