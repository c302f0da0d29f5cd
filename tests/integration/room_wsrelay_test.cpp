// Rooms through the self-hosted relay: native runtimes meet via the ws-relay strategy and a
// `posthorn relay` server (in-process here, and as the real process), on loopback.
#include "support/peer_process.hpp"
#include "support/relay_thread.hpp"
#include "support/room_observer.hpp"
#include "tools/child_process.hpp"

#include <posthorn/posthorn.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <future>
#include <thread>

#include <signal.h>

namespace posthorn {
namespace {

using namespace std::chrono_literals;
using test::RoomObserver;

using test::RelayThread;

RuntimeOptions loopback() {
  return {.bind_addresses = {"127.0.0.1"}};
}

RoomConfig config_for(const std::string& url) {
  return {.app_id = "posthorn-ws-" +
                    std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()),
          .strategy = strategies::wsrelay({url})};
}

TEST(RoomOverWsRelay, TwoPeersMeetThroughTheRelayAndExchangeMessages) {
  RelayThread relay;
  Runtime rt_a(loopback()), rt_b(loopback());
  auto room_a = join_room(rt_a, config_for(relay.url()), "lobby");
  auto room_b = join_room(rt_b, config_for(relay.url()), "lobby");
  RoomObserver obs_a(room_a), obs_b(room_b);
  std::promise<std::string> got;
  room_b.make_action("chat").on_message(
      [&](Payload p, const MessageInfo&) { got.set_value(std::string(p.text())); });
  EXPECT_EQ(obs_a.wait("join:"), "join:" + room_b.self_id());
  EXPECT_EQ(obs_b.wait("join:"), "join:" + room_a.self_id());
  room_a.make_action("chat")
      .async_send(Payload::text("over the relay"), {}, boost::asio::use_future)
      .get();
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), "over the relay");
  const auto stats = relay.stats();
  EXPECT_EQ(stats.hub.clients, 2u); // one connection per runtime, whatever the rooms
  EXPECT_GT(stats.hub.deliveries, 0u);
  EXPECT_EQ(stats.hub.refused, 0u);
}

// The relay restarts on the same port: the strategy reconnects, subscribes again, and a peer
// that joins only then still finds the one that was waiting.
TEST(RoomOverWsRelay, PeersFindEachOtherAfterTheRelayRestarts) {
  auto relay = std::make_unique<RelayThread>();
  const auto port = relay->port();
  const auto url = relay->url();
  Runtime rt_a(loopback());
  auto room_a = join_room(rt_a, config_for(url), "restart");
  RoomObserver obs_a(room_a);
  std::this_thread::sleep_for(300ms); // a is subscribed and announcing
  relay.reset();
  relay = std::make_unique<RelayThread>(port);
  Runtime rt_b(loopback());
  auto room_b = join_room(rt_b, config_for(url), "restart");
  RoomObserver obs_b(room_b);
  EXPECT_EQ(obs_b.wait("join:", 30s), "join:" + room_a.self_id());
  EXPECT_EQ(obs_a.wait("join:", 30s), "join:" + room_b.self_id());
}

// The real `posthorn relay` process with two `posthorn peer --strategy wsrelay` processes: what
// the demo and a self-hosting user run.
TEST(RoomOverWsRelay, PosthornRelayProcessCarriesPosthornPeers) {
  tools::ChildProcess relay({POSTHORN_BINARY, "relay", "--port", "0"});
  auto listening = nlohmann::json::parse(relay.read_line(10s).value_or("{}"), nullptr, false);
  ASSERT_EQ(listening.value("event", ""), "listening");
  const std::string url = listening.at("url");

  const auto logs = std::filesystem::temp_directory_path() / "posthorn-room-wsrelay";
  std::filesystem::create_directories(logs);
  const std::vector<std::string> flags{
      "--app", "posthorn-ws-process", "--room", "r", "--strategy", "wsrelay", "--relay", url};
  const test::PeerPaths paths{.posthorn_binary = POSTHORN_BINARY};
  test::PeerProcess a(test::PeerImpl::Posthorn, "a", flags, logs, paths);
  test::PeerProcess b(test::PeerImpl::Posthorn, "b", flags, logs, paths);
  a.wait_for(test::is_event_from("join", b.self_id()), 30s, "a sees b join");
  b.wait_for(test::is_event_from("join", a.self_id()), 30s, "b sees a join");
  a.send({{"cmd", "send"}, {"id", 1}, {"action", "chat"}, {"kind", "json"}, {"data", {{"n", 1}}}});
  const auto message = b.wait_for(test::is_message("chat", a.self_id()), 30s, "chat from a");
  EXPECT_EQ(message.value("data", nlohmann::json()), nlohmann::json({{"n", 1}}));
  EXPECT_EQ(a.leave_and_wait(10s), 0);
  EXPECT_EQ(b.leave_and_wait(10s), 0);

  ::kill(relay.pid(), SIGTERM); // our own child, by pid
  EXPECT_EQ(relay.wait(10s), 0);
  std::optional<std::string> last;
  while (auto line = relay.read_line(1s))
    last = line;
  ASSERT_TRUE(last);
  auto stats = nlohmann::json::parse(*last, nullptr, false);
  EXPECT_EQ(stats.value("event", ""), "stats");
  EXPECT_EQ(stats.value("accepted", 0), 2);
  EXPECT_EQ(stats.value("refused", -1), 0);
}

} // namespace
} // namespace posthorn
