// Rooms over the torrent strategy: native runtimes meet through the WebTorrent tracker of
// `posthorn relay` (in-process, on loopback), as Trystero's torrent peers do through public
// trackers: pooled offers forwarded by the tracker, answers routed back, non-trickle SDP.
// What every strategy must do is in strategy_conformance_test; this file checks what is
// tracker-specific. Against the npm bittorrent-tracker and real Trystero peers: tests/interop.
#include "support/relay_thread.hpp"
#include "support/room_observer.hpp"

#include <posthorn/posthorn.hpp>

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace posthorn {
namespace {

using namespace std::chrono_literals;
using test::RelayThread;
using test::RoomObserver;

RuntimeOptions loopback() {
  return {.bind_addresses = {"127.0.0.1"}};
}

RoomConfig config_for(const std::string& url, std::string password = "") {
  return {.app_id = "posthorn-torrent-" +
                    std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()),
          .password = std::move(password),
          .strategy = strategies::torrent({url + "/announce"})};
}

TEST(RoomOverTorrent, TwoPeersMeetThroughTheTrackerAndExchangeMessages) {
  RelayThread relay;
  Runtime rt_a(loopback()), rt_b(loopback());
  auto room_a = join_room(rt_a, config_for(relay.url(), "s3cret"), "lobby");
  auto room_b = join_room(rt_b, config_for(relay.url(), "s3cret"), "lobby");
  RoomObserver obs_a(room_a), obs_b(room_b);
  std::promise<std::string> got;
  room_b.make_action("chat").on_message(
      [&](Payload p, const MessageInfo&) { got.set_value(std::string(p.text())); });
  EXPECT_EQ(obs_a.wait("join:", 30s), "join:" + room_b.self_id());
  EXPECT_EQ(obs_b.wait("join:", 30s), "join:" + room_a.self_id());
  room_a.make_action("chat")
      .async_send(Payload::text("via a tracker"), {}, boost::asio::use_future)
      .get();
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), "via a tracker");
  const auto stats = relay.stats().tracker;
  EXPECT_EQ(stats.swarms, 1u);
  EXPECT_EQ(stats.members, 2u);
  EXPECT_GE(stats.offers_forwarded, 1u);
  EXPECT_EQ(stats.answers_routed, 1u) << "exactly one side answers (the higher id)";
  EXPECT_EQ(stats.refused, 0u);
}

TEST(RoomOverTorrent, LeavingTellsTheTrackerAndThePeerRejoinsLater) {
  RelayThread relay;
  Runtime rt_a(loopback()), rt_b(loopback());
  auto room_a = join_room(rt_a, config_for(relay.url()), "again");
  RoomObserver obs_a(room_a);
  {
    auto room_b = join_room(rt_b, config_for(relay.url()), "again");
    RoomObserver obs_b(room_b);
    EXPECT_EQ(obs_a.wait("join:", 30s), "join:" + room_b.self_id());
    room_b.async_leave(boost::asio::use_future).get();
    EXPECT_EQ(obs_a.wait("leave:", 30s), "leave:" + room_b.self_id());
  }
  // "stopped" took b out of the swarm at once (Trystero would linger until its socket closed).
  for (int i = 0; i < 100 && relay.stats().tracker.members != 1; ++i)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(relay.stats().tracker.members, 1u);
  auto room_b2 = join_room(rt_b, config_for(relay.url()), "again");
  EXPECT_EQ(obs_a.wait("join:", 30s), "join:" + room_b2.self_id());
}

} // namespace
} // namespace posthorn
