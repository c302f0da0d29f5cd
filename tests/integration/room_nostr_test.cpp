// Rooms over Nostr: native runtimes meet through the Nostr strategy (signed ephemeral events,
// REQ batches) and `posthorn relay`'s NIP-01 side, on loopback.
#include "support/relay_thread.hpp"
#include "support/room_observer.hpp"

#include <posthorn/posthorn.hpp>

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <future>

namespace posthorn {
namespace {

using namespace std::chrono_literals;
using test::RelayThread;
using test::RoomObserver;

RoomConfig nostr_config(const std::string& url, std::string password = {}) {
  return {.app_id = "posthorn-nostr-" +
                    std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()),
          .password = std::move(password),
          .strategy = strategies::nostr({url})};
}

TEST(RoomOverNostr, TwoPeersMeetThroughSignedEventsAndExchangeMessages) {
  RelayThread relay;
  Runtime rt_a({.bind_addresses = {"127.0.0.1"}}), rt_b({.bind_addresses = {"127.0.0.1"}});
  auto room_a = join_room(rt_a, nostr_config(relay.url(), "secret"), "lobby");
  auto room_b = join_room(rt_b, nostr_config(relay.url(), "secret"), "lobby");
  RoomObserver obs_a(room_a), obs_b(room_b);
  std::promise<std::string> got;
  room_b.make_action("chat").on_message(
      [&](Payload p, const MessageInfo&) { got.set_value(std::string(p.text())); });
  EXPECT_EQ(obs_a.wait("join:"), "join:" + room_b.self_id());
  EXPECT_EQ(obs_b.wait("join:"), "join:" + room_a.self_id());
  room_a.make_action("chat")
      .async_send(Payload::text("signed and sealed"), {}, boost::asio::use_future)
      .get();
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), "signed and sealed");
  const auto stats = relay.stats();
  EXPECT_GT(stats.nostr.events_in, 0u);
  EXPECT_EQ(stats.nostr.refused, 0u);   // every event we signed verified at the relay
  EXPECT_EQ(stats.hub.messages_in, 0u); // and nothing went the ws-relay way
}

} // namespace
} // namespace posthorn
