// `posthorn relay` is a WebTorrent tracker on the same port as ws-relay and Nostr: two WebSocket
// clients meet in a swarm, one's offer is forwarded to the other and the answer routed back, over
// the real server, as Trystero's torrent strategy and a tracker exchange them (spec §5.2).
#include "net/websocket_client.hpp"
#include "relay/ws_server.hpp"
#include "signal/tracker_codec.hpp"
#include "signal/wsrelay_codec.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace posthorn {
namespace {

namespace asio = boost::asio;
namespace tracker = signal::tracker;

const std::string kSwarm = "3a693z5y3d5m16f582u6"; // spec §5.2's info_hash for the rootTopic
const std::string kAlice = "AliceAliceAliceAlice";
const std::string kBob = "BobBobBobBobBobBobBo";

/// The next message as a tracker message; a DecodeError (with the text) when it is not one.
asio::awaitable<tracker::decoded<tracker::TrackerMessage>> next(net::WebSocketClient& ws) {
  auto m = co_await ws.read();
  if (!m) co_return tracker::DecodeError{"read failed: " + m.error().message()};
  auto decoded = tracker::decode_tracker_message(m->data);
  if (auto* e = std::get_if<tracker::DecodeError>(&decoded)) e->reason += " in " + m->data;
  co_return decoded;
}

template <class T> T expect(const tracker::decoded<tracker::TrackerMessage>& got) {
  if (auto* e = std::get_if<tracker::DecodeError>(&got)) {
    ADD_FAILURE() << e->reason;
    return {};
  }
  const auto& m = std::get<tracker::TrackerMessage>(got);
  if (!std::holds_alternative<T>(m)) {
    ADD_FAILURE() << "unexpected " << tracker::encode(m);
    return {};
  }
  return std::get<T>(m);
}

std::string announce(const std::string& peer_id, std::vector<tracker::Offer> offers) {
  return tracker::encode(tracker::ClientMessage(tracker::Announce{
      .info_hash = kSwarm, .peer_id = peer_id, .numwant = 3, .offers = std::move(offers)}));
}

asio::awaitable<void> scenario(relay::WsServer& server, bool& done) {
  auto ex = co_await asio::this_coro::executor;
  net::WebSocketClient alice(ex), bob(ex);
  const auto url = *net::parse_url(server.url());
  // co_await stays out of the test macros: GCC 12 miscompiles it inside their expressions.
  const auto alice_connected = co_await alice.connect(url);
  const auto bob_connected = co_await bob.connect(url);
  EXPECT_TRUE(alice_connected && bob_connected);

  alice.send_text(announce(kAlice, {}));
  const auto first = expect<tracker::AnnounceReply>(co_await next(alice));
  EXPECT_EQ(first, (tracker::AnnounceReply{
                       .info_hash = kSwarm, .interval = 120, .complete = 0, .incomplete = 1}));

  // Bob keeps offers outstanding as Trystero does; alice is the only other member.
  bob.send_text(announce(kBob, {{"bob-offer-1", "ENC-OFFER-1"}, {"bob-offer-2", "ENC-OFFER-2"}}));
  const auto reply = expect<tracker::AnnounceReply>(co_await next(bob));
  EXPECT_EQ(reply.incomplete, 2);
  const auto offer = expect<tracker::PeerOffer>(co_await next(alice));
  EXPECT_EQ(offer, (tracker::PeerOffer{kSwarm, kBob, "bob-offer-1", "ENC-OFFER-1"}));

  alice.send_text(tracker::encode(tracker::ClientMessage(
      tracker::SendAnswer{kSwarm, kAlice, kBob, offer.offer_id, "ENC-ANSWER"})));
  const auto answer = expect<tracker::PeerAnswer>(co_await next(bob));
  EXPECT_EQ(answer, (tracker::PeerAnswer{kSwarm, kAlice, "bob-offer-1", "ENC-ANSWER"}));

  // Bob cannot announce as alice.
  bob.send_text(announce(kAlice, {}));
  const auto refused = expect<tracker::Failure>(co_await next(bob));
  EXPECT_EQ(refused.reason, "peer_id is in use by another connection");

  // Alice got no reply to her answer: the next thing she hears is her ws-relay subscription,
  // on the same connection.
  alice.send_text(signal::wsrelay::encode(signal::wsrelay::Subscribe{"plain"}));
  const auto subscribed = co_await alice.read();
  EXPECT_EQ(subscribed ? subscribed->data : "", R"({"topic":"plain","type":"subscribed"})");
  alice.close();
  bob.close();
  done = true;
}

TEST(RelayTracker, AnOfferIsForwardedAndItsAnswerRoutedBack) {
  asio::io_context io;
  relay::WsServer server(io.get_executor(), {});
  bool done = false;
  asio::co_spawn(io, scenario(server, done), [&](std::exception_ptr e) {
    server.stop();
    if (e) std::rethrow_exception(e);
  });
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(done);
  const auto stats = server.stats().tracker;
  EXPECT_EQ(stats.announces, 2u);
  EXPECT_EQ(stats.offers_forwarded, 1u);
  EXPECT_EQ(stats.answers_routed, 1u);
  EXPECT_EQ(stats.refused, 1u);
  EXPECT_EQ(stats.members, 0u); // both left when their connections closed
  EXPECT_EQ(stats.swarms, 0u);
}

} // namespace
} // namespace posthorn
