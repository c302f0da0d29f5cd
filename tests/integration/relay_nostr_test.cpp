// `posthorn relay` speaks NIP-01 on the same port as ws-relay: two WebSocket clients exchange a
// signed ephemeral event through it, and a forged one is refused, as Trystero's Nostr strategy
// and a relay would exchange them (spec §5.1).
#include "net/websocket_client.hpp"
#include "relay/ws_server.hpp"
#include "signal/nostr_messages.hpp"
#include "signal/trystero_ids.hpp"
#include "signal/wsrelay_codec.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace posthorn {
namespace {

namespace asio = boost::asio;
namespace nostr = signal::nostr;

asio::awaitable<std::string> next_text(net::WebSocketClient& ws) {
  auto m = co_await ws.read();
  co_return m ? m->data : std::string("(read failed: " + m.error().message() + ")");
}

asio::awaitable<void> scenario(relay::WsServer& server, bool& done) {
  auto ex = co_await asio::this_coro::executor;
  net::WebSocketClient alice(ex), bob(ex);
  const auto url = *net::parse_url(server.url());
  // co_await stays out of the test macros: GCC 12 miscompiles it inside their expressions.
  const auto alice_connected = co_await alice.connect(url);
  const auto bob_connected = co_await bob.connect(url);
  EXPECT_TRUE(alice_connected && bob_connected);

  // Bob subscribes the way Trystero does: kinds and #x of his topics, since now.
  const std::string topic = "6g275d2v425x1i5n5v324g3z3v1b166y4d4m6gz";
  bob.send_text(nostr::encode(nostr::ClientMessage(nostr::Req{
      "bobsub",
      {{.kinds = {signal::nostr_kind(topic)}, .since = 1700000000, .x_tags = {topic}}}})));
  const auto eose = co_await next_text(bob);
  EXPECT_EQ(eose, R"(["EOSE","bobsub"])");

  CryptoRng rng;
  nostr::Digest aux{};
  rng.fill(aux);
  const auto event =
      nostr::make_topic_event(nostr::KeyPair::generate(rng), topic,
                              R"({"peerId":"AbCdEfGhIjKlMnOpQrSt"})", 1700000001, aux);
  alice.send_text(nostr::encode(nostr::ClientMessage(nostr::ClientEvent{event})));
  const auto ok = co_await next_text(alice);
  EXPECT_EQ(ok, nostr::encode(nostr::RelayMessage(nostr::Ok{event.id, true, ""})));
  const auto got_text = co_await next_text(bob);
  auto got = nostr::decode_relay_message(got_text);
  if (!std::holds_alternative<nostr::RelayMessage>(got)) {
    ADD_FAILURE() << "bob got no NIP-01 message";
    co_return;
  }
  const auto& delivered = std::get<nostr::RelayEvent>(std::get<nostr::RelayMessage>(got));
  EXPECT_EQ(delivered.subscription_id, "bobsub");
  EXPECT_EQ(delivered.event, event);

  auto forged = event;
  forged.content = R"({"peerId":"SomebodyElse00000000"})";
  alice.send_text(nostr::encode(nostr::ClientMessage(nostr::ClientEvent{forged})));
  const auto refused_text = co_await next_text(alice);
  auto refused = nostr::decode_relay_message(refused_text);
  if (!std::holds_alternative<nostr::RelayMessage>(refused)) {
    ADD_FAILURE() << "alice got no NIP-01 answer";
    co_return;
  }
  EXPECT_FALSE(std::get<nostr::Ok>(std::get<nostr::RelayMessage>(refused)).accepted);

  // The same connection may speak ws-relay too: the first character tells the protocols apart.
  bob.send_text(signal::wsrelay::encode(signal::wsrelay::Subscribe{"plain"}));
  const auto subscribed = co_await next_text(bob);
  EXPECT_EQ(subscribed, R"({"topic":"plain","type":"subscribed"})");
  alice.close();
  bob.close();
  done = true;
}

TEST(RelayNostr, SignedEphemeralEventsReachMatchingSubscriptions) {
  asio::io_context io;
  relay::WsServer server(io.get_executor(), {});
  bool done = false;
  asio::co_spawn(io, scenario(server, done), [&](std::exception_ptr e) {
    server.stop();
    if (e) std::rethrow_exception(e);
  });
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(done);
  const auto stats = server.stats();
  EXPECT_EQ(stats.nostr.events_in, 1u);
  EXPECT_EQ(stats.nostr.deliveries, 1u);
  EXPECT_EQ(stats.nostr.refused, 1u);
}

} // namespace
} // namespace posthorn
