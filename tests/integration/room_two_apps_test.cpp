// Two runtimes that meet in two apps at once hold two peer connections to each other (peers share
// a connection per app, spec §9, never across apps). Each connection has its own sockets, as in a
// browser: with one shared socket per runtime both connections had the same 5-tuple and datagrams
// were routed to whichever connection sent last. Under load that cost retransmissions; for a
// quiet connection next to a busy one it was fatal: its consent responses (RFC 7675) went to the
// busy one, and after 30 s it was declared dead with the messages still queued on it.
#include "support/mosquitto_server.hpp"

#include <posthorn/posthorn.hpp>

#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace posthorn {
namespace {

using namespace std::chrono_literals;

RuntimeOptions loopback() {
  return {.bind_addresses = {"127.0.0.1"}};
}

struct Joined {
  Room room;
  std::shared_ptr<std::promise<void>> joined = std::make_shared<std::promise<void>>();
};

Joined join(Runtime& rt, const std::string& app, const std::string& broker) {
  Joined j{join_room(rt, {.app_id = app, .strategy = strategies::mqtt({broker})}, "room")};
  j.room.on_peer_join([p = j.joined, once = std::make_shared<std::once_flag>()](const PeerId&) {
    std::call_once(*once, [&] { p->set_value(); });
  });
  return j;
}

TEST(RoomTwoApps, TwoConnectionsBetweenTheSameRuntimesEachDeliverEveryMessage) {
  if (!test::MosquittoServer::available()) GTEST_SKIP() << "mosquitto is not installed";
  test::MosquittoServer broker;
  Runtime rt_a(loopback()), rt_b(loopback());
  auto a1 = join(rt_a, "posthorn-two-apps-1", broker.ws_url());
  auto b1 = join(rt_b, "posthorn-two-apps-1", broker.ws_url());
  auto a2 = join(rt_a, "posthorn-two-apps-2", broker.ws_url());
  auto b2 = join(rt_b, "posthorn-two-apps-2", broker.ws_url());
  for (auto* j : {&a1, &b1, &a2, &b2})
    ASSERT_EQ(j->joined->get_future().wait_for(30s), std::future_status::ready);

  constexpr int kMessages = 3000;
  std::atomic<int> got1{0}, got2{0};
  auto done1 = std::make_shared<std::promise<void>>();
  auto done2 = std::make_shared<std::promise<void>>();
  b1.room.make_action("m").on_message([&, done1](Payload, const MessageInfo&) {
    if (++got1 == kMessages) done1->set_value();
  });
  b2.room.make_action("m").on_message([&, done2](Payload, const MessageInfo&) {
    if (++got2 == kMessages) done2->set_value();
  });
  auto send1 = a1.room.make_action("m");
  auto send2 = a2.room.make_action("m");
  // Both connections busy at once: any datagram routed to the wrong one breaks its DTLS record
  // stream or SCTP association, and messages go missing.
  std::vector<std::future<void>> sends;
  const std::vector<std::uint8_t> payload(1000, 0x5a);
  for (int i = 0; i < kMessages; ++i) {
    sends.push_back(send1.async_send(Payload::binary(payload), {}, boost::asio::use_future));
    sends.push_back(send2.async_send(Payload::binary(payload), {}, boost::asio::use_future));
  }
  for (auto& s : sends)
    ASSERT_NO_THROW(s.get());
  EXPECT_EQ(done1->get_future().wait_for(30s), std::future_status::ready) << got1 << " arrived";
  EXPECT_EQ(done2->get_future().wait_for(30s), std::future_status::ready) << got2 << " arrived";
}

TEST(RoomTwoApps, AQuietConnectionSurvivesABusyOneToTheSamePeer) {
  if (!test::MosquittoServer::available()) GTEST_SKIP() << "mosquitto is not installed";
  test::MosquittoServer broker;
  Runtime rt_a(loopback()), rt_b(loopback());
  auto quiet_a = join(rt_a, "posthorn-quiet", broker.ws_url());
  auto quiet_b = join(rt_b, "posthorn-quiet", broker.ws_url());
  auto busy_a = join(rt_a, "posthorn-busy", broker.ws_url());
  auto busy_b = join(rt_b, "posthorn-busy", broker.ws_url());
  for (auto* j : {&quiet_a, &quiet_b, &busy_a, &busy_b})
    ASSERT_EQ(j->joined->get_future().wait_for(30s), std::future_status::ready);
  std::atomic<bool> quiet_peer_left{false};
  quiet_a.room.on_peer_leave([&](const PeerId&) { quiet_peer_left = true; });
  auto arrived = std::make_shared<std::promise<void>>();
  quiet_b.room.make_action("m").on_message(
      [arrived](Payload, const MessageInfo&) { arrived->set_value(); });

  // Longer than the consent timeout (30 s), with the busy connection sending all along.
  auto busy = busy_a.room.make_action("m");
  const auto until = std::chrono::steady_clock::now() + 36s;
  while (std::chrono::steady_clock::now() < until) {
    busy.async_send(Payload::text("tick"), {}, boost::asio::use_future).get();
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(quiet_peer_left) << "the quiet connection was declared dead";
  ASSERT_NO_THROW(quiet_a.room.make_action("m")
                      .async_send(Payload::text("still here"), {}, boost::asio::use_future)
                      .get());
  EXPECT_EQ(arrived->get_future().wait_for(10s), std::future_status::ready);
}

} // namespace
} // namespace posthorn
