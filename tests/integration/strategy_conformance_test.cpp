// One conformance suite for every signaling strategy: what a room must do whatever medium its
// peers find each other through. Each scenario runs over a real medium on loopback:
//   mqtt     — a real mosquitto (WebSocket listener);
//   wsrelay  — `posthorn relay`'s ws-relay pub/sub (in-process server);
//   nostr    — `posthorn relay`'s NIP-01 subset (signed ephemeral events);
//   torrent  — `posthorn relay`'s WebTorrent tracker (pooled offers, non-trickle SDP).
// The data path after the join does not depend on the medium (tests/integration/room_mqtt_test,
// tests/interop); Trystero interop per medium is in tests/interop/trystero_rooms_test.
#include "support/mosquitto_server.hpp"
#include "support/relay_thread.hpp"
#include "support/room_observer.hpp"

#include <posthorn/posthorn.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>
#include <thread>

namespace posthorn {
namespace {

using namespace std::chrono_literals;
using test::RoomObserver;

enum class Medium { Mqtt, WsRelay, Nostr, Torrent };

std::string name_of(Medium m) {
  switch (m) {
  case Medium::Mqtt: return "Mqtt";
  case Medium::WsRelay: return "WsRelay";
  case Medium::Nostr: return "Nostr";
  case Medium::Torrent: return "Torrent";
  }
  return "?";
}

class StrategyConformance : public ::testing::TestWithParam<Medium> {
protected:
  void SetUp() override {
    if (GetParam() == Medium::Mqtt) {
      if (!test::MosquittoServer::available()) GTEST_SKIP() << "mosquitto is not installed";
      broker_ = std::make_unique<test::MosquittoServer>();
    } else {
      relay_ = std::make_unique<test::RelayThread>();
    }
  }

  StrategyConfig strategy() const {
    switch (GetParam()) {
    case Medium::Mqtt: return strategies::mqtt({broker_->ws_url()});
    case Medium::WsRelay: return strategies::wsrelay({relay_->url()});
    case Medium::Nostr: return strategies::nostr({relay_->url()});
    case Medium::Torrent: return strategies::torrent({relay_->url() + "/announce"});
    }
    return {};
  }
  RoomConfig config(std::string password = {}, bool passive = false) const {
    return {.app_id = "conformance-" +
                      std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()),
            .password = std::move(password),
            .strategy = strategy(),
            .passive = passive};
  }
  static RuntimeOptions loopback() { return {.bind_addresses = {"127.0.0.1"}}; }

  /// Sends `text` on "chat" from `from` and waits for `to` to get it.
  static void expect_delivery(Room& from, Room& to, const std::string& text) {
    auto got = std::make_shared<std::promise<std::string>>();
    to.make_action("chat").on_message([got](Payload p, const MessageInfo&) {
      try {
        got->set_value(std::string(p.text()));
      } catch (const std::future_error&) {
      }
    });
    from.make_action("chat").async_send(Payload::text(text), {}, boost::asio::use_future).get();
    auto f = got->get_future();
    ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(f.get(), text);
  }

  std::unique_ptr<test::MosquittoServer> broker_;
  std::unique_ptr<test::RelayThread> relay_;
};

TEST_P(StrategyConformance, TwoPeersWithAPasswordJoinAndTalk) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto a = join_room(rt_a, config("shared secret"), "lobby");
  auto b = join_room(rt_b, config("shared secret"), "lobby");
  RoomObserver obs_a(a), obs_b(b);
  EXPECT_EQ(obs_a.wait("join:"), "join:" + b.self_id());
  EXPECT_EQ(obs_b.wait("join:"), "join:" + a.self_id());
  expect_delivery(a, b, "hello over " + name_of(GetParam()));
  expect_delivery(b, a, "and back");
}

TEST_P(StrategyConformance, AWrongPasswordIsAJoinErrorNotAJoin) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto a = join_room(rt_a, config("right"), "locked");
  auto b = join_room(rt_b, config("wrong"), "locked");
  RoomObserver obs_a(a), obs_b(b);
  // Whoever receives the other's offer reports it; over topics the answerer may also see it.
  auto& receiver = a.self_id() > b.self_id() ? obs_a : obs_b;
  EXPECT_EQ(receiver.wait("join-error:").rfind("join-error:incorrect room password", 0), 0u);
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(a.peers().empty());
  EXPECT_TRUE(b.peers().empty());
}

TEST_P(StrategyConformance, ThreePeersAllMeetAndOneLeaves) {
  Runtime rt_a(loopback()), rt_b(loopback()), rt_c(loopback());
  auto a = join_room(rt_a, config(), "trio");
  auto b = join_room(rt_b, config(), "trio");
  auto c = join_room(rt_c, config(), "trio");
  RoomObserver obs_a(a), obs_b(b), obs_c(c);
  for (auto* obs : {&obs_a, &obs_b, &obs_c}) {
    obs->wait("join:");
    obs->wait("join:");
  }
  for (auto* room : {&a, &b, &c})
    EXPECT_EQ(room->peers().size(), 2u);
  c.async_leave(boost::asio::use_future).get();
  EXPECT_EQ(obs_a.wait("leave:"), "leave:" + c.self_id());
  EXPECT_EQ(obs_b.wait("leave:"), "leave:" + c.self_id());
  expect_delivery(a, b, "two of us left");
}

TEST_P(StrategyConformance, APeerThatLeftCanJoinAgain) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto a = join_room(rt_a, config(), "again");
  RoomObserver obs_a(a);
  {
    auto b = join_room(rt_b, config(), "again");
    EXPECT_EQ(obs_a.wait("join:"), "join:" + b.self_id());
    b.async_leave(boost::asio::use_future).get();
    EXPECT_EQ(obs_a.wait("leave:"), "leave:" + b.self_id());
  }
  auto b2 = join_room(rt_b, config(), "again");
  EXPECT_EQ(obs_a.wait("join:"), "join:" + b2.self_id());
  expect_delivery(b2, a, "back again");
}

TEST_P(StrategyConformance, APassivePeerWakesForAnActivePeer) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto sleeper = join_room(rt_a, config({}, /*passive=*/true), "quiet");
  std::this_thread::sleep_for(300ms); // asleep and listening before anyone comes
  auto active = join_room(rt_b, config(), "quiet");
  RoomObserver obs_sleeper(sleeper), obs_active(active);
  EXPECT_EQ(obs_sleeper.wait("join:"), "join:" + active.self_id());
  EXPECT_EQ(obs_active.wait("join:"), "join:" + sleeper.self_id());
  expect_delivery(active, sleeper, "wake up");
}

TEST_P(StrategyConformance, TwoRoomsOfOneAppOverOneMediumStayApart) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto a1 = join_room(rt_a, config(), "room-one");
  auto a2 = join_room(rt_a, config(), "room-two");
  auto b1 = join_room(rt_b, config(), "room-one");
  RoomObserver obs_a1(a1), obs_a2(a2), obs_b1(b1);
  EXPECT_EQ(obs_a1.wait("join:"), "join:" + b1.self_id());
  EXPECT_EQ(obs_b1.wait("join:"), "join:" + a1.self_id());
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(a2.peers().empty()) << "b is not in room-two";
  auto b2 = join_room(rt_b, config(), "room-two");
  EXPECT_EQ(obs_a2.wait("join:"), "join:" + b2.self_id());
  expect_delivery(b2, a2, "second room");
}

// A room's last handle may go on any thread, while the loop is busy with that very room's
// subscriptions. The room must be torn down on the loop (ASan once caught the user's thread
// unsubscribing while the loop flushed the same topic list), and the medium must keep serving
// the rooms that stay.
TEST_P(StrategyConformance, RoomsDroppedOnTheUsersThreadLeaveTheMediumWorking) {
  Runtime rt_a(loopback()), rt_b(loopback());
  auto a = join_room(rt_a, config(), "stays");
  for (int i = 0; i < 40; ++i) {
    auto fleeting = join_room(rt_a, config(), "fleeting-" + std::to_string(i));
    // Once the loop has started the room, its subscriptions' flush is queued behind this.
    boost::asio::post(rt_a.get_executor(), boost::asio::use_future).get();
  } // each dropped here, on this thread, while the loop flushes
  auto b = join_room(rt_b, config(), "stays");
  RoomObserver obs_a(a), obs_b(b);
  EXPECT_EQ(obs_a.wait("join:"), "join:" + b.self_id());
  EXPECT_EQ(obs_b.wait("join:"), "join:" + a.self_id());
  expect_delivery(b, a, "still here");
}

INSTANTIATE_TEST_SUITE_P(Media, StrategyConformance,
                         ::testing::Values(Medium::Mqtt, Medium::WsRelay, Medium::Nostr,
                                           Medium::Torrent),
                         [](const auto& info) { return name_of(info.param); });

} // namespace
} // namespace posthorn
