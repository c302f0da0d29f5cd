// MqttStrategy against a real mosquitto on loopback (tests/support/mosquitto_server), over
// WebSocket and TCP: message exchange, own publishes, shared topics, unsubscribe, broker restart,
// publishing while down, refused and silent brokers, close and destruction at awkward moments.
#include "strategy/mqtt_strategy.hpp"

#include "strategy_test_util.hpp"
#include "support/mosquitto_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <memory>

namespace posthorn::strategy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using test::drain;
using test::Recorder;
using test::run_until;
using namespace std::chrono_literals;

class MqttStrategyTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!posthorn::test::MosquittoServer::available())
      GTEST_SKIP() << "mosquitto is not installed (" << posthorn::test::MosquittoServer::kBinary
                   << "); apt-get install mosquitto";
    broker_ = std::make_unique<posthorn::test::MosquittoServer>();
  }
  void TearDown() override {
    // Every test ends clean: strategies closed, and nothing left running on the loop.
    for (auto& s : strategies_)
      if (s) s->close();
    strategies_.clear();
    drain(io_);
  }

  MqttStrategyConfig config(std::vector<std::string> urls) {
    MqttStrategyConfig c;
    c.urls = std::move(urls);
    c.reconnect_min = 50ms;
    c.reconnect_max = 400ms;
    c.connect_timeout = 3s;
    return c;
  }
  MqttStrategy& make(MqttStrategyConfig c) {
    strategies_.push_back(std::make_unique<MqttStrategy>(io_.get_executor(), std::move(c), rng_));
    return *strategies_.back();
  }
  bool wait(const std::function<bool()>& done, const std::string& label,
            std::chrono::milliseconds timeout = 10s) {
    return run_until(io_, done, timeout, label);
  }
  RelayState state_of(const Strategy& s, std::size_t relay = 0) {
    return s.relay_statuses().at(relay).state;
  }

  asio::io_context io_;
  SeededRng rng_{42};
  std::unique_ptr<posthorn::test::MosquittoServer> broker_;
  std::vector<std::unique_ptr<MqttStrategy>> strategies_;
};

TEST_F(MqttStrategyTest, TwoClientsExchangeMessagesOverWebSocket) {
  auto& a = make(config({broker_->ws_url()}));
  auto& b = make(config({broker_->ws_url()}));
  Recorder ra, rb;
  auto sa = a.subscribe("ws-topic", ra.on_message(), ra.on_ready());
  auto sb = b.subscribe("ws-topic", rb.on_message(), rb.on_ready());
  ASSERT_TRUE(wait([&] { return ra.ready_on(0) == 1 && rb.ready_on(0) == 1; }, "both ready"));
  EXPECT_EQ(state_of(a), RelayState::Open);

  a.publish(0, "ws-topic", R"({"peerId":"A"})");
  ASSERT_TRUE(wait([&] { return rb.got(R"({"peerId":"A"})"); }, "B receives A's message"));
  EXPECT_EQ(rb.messages.front(), (test::Received{0, "ws-topic", R"({"peerId":"A"})"}));
  b.publish(0, "ws-topic", "from B");
  ASSERT_TRUE(wait([&] { return ra.got("from B"); }, "A receives B's message"));

  const auto status = a.relay_statuses().at(0);
  EXPECT_EQ(status.url, broker_->ws_url());
  EXPECT_EQ(status.messages_out, 1u);
  EXPECT_GE(status.messages_in, 1u);
  EXPECT_EQ(status.dropped_out, 0u);
  EXPECT_EQ(status.reconnects, 0u);
  EXPECT_TRUE(status.last_error.empty());
}

TEST_F(MqttStrategyTest, TwoClientsExchangeMessagesOverTcp) {
  auto& a = make(config({broker_->tcp_url()}));
  auto& b = make(config({broker_->tcp_url()}));
  Recorder ra, rb;
  auto sa = a.subscribe("tcp-topic", ra.on_message(), ra.on_ready());
  auto sb = b.subscribe("tcp-topic", rb.on_message(), rb.on_ready());
  ASSERT_TRUE(wait([&] { return ra.ready_on(0) == 1 && rb.ready_on(0) == 1; }, "both ready"));
  a.publish(0, "tcp-topic", "over tcp");
  ASSERT_TRUE(wait([&] { return rb.got("over tcp"); }, "B receives"));
}

TEST_F(MqttStrategyTest, WebSocketAndTcpClientsMeetOnOneBroker) {
  auto& a = make(config({broker_->ws_url()}));
  auto& b = make(config({broker_->tcp_url()}));
  Recorder ra, rb;
  auto sa = a.subscribe("mixed", ra.on_message(), ra.on_ready());
  auto sb = b.subscribe("mixed", rb.on_message(), rb.on_ready());
  ASSERT_TRUE(wait([&] { return !ra.ready.empty() && !rb.ready.empty(); }, "both ready"));
  a.publish(0, "mixed", "ws->tcp");
  b.publish(0, "mixed", "tcp->ws");
  ASSERT_TRUE(wait([&] { return rb.got("ws->tcp") && ra.got("tcp->ws"); }, "both directions"));
}

TEST_F(MqttStrategyTest, OwnPublishesComeBack) {
  // MQTT 3.1.1 delivers a client's own publishes (spec/trystero-wire.md §5.3); the coordinator
  // drops them by peerId, the strategy does not.
  auto& a = make(config({broker_->ws_url()}));
  Recorder ra;
  auto sa = a.subscribe("echo", ra.on_message(), ra.on_ready());
  ASSERT_TRUE(wait([&] { return !ra.ready.empty(); }, "ready"));
  a.publish(0, "echo", "mine");
  ASSERT_TRUE(wait([&] { return ra.got("mine"); }, "own message back"));
}

TEST_F(MqttStrategyTest, SeveralBrokersAreIndexedByUrlOrder) {
  // The same broker twice (WebSocket as relay 0, TCP as relay 1): a message arrives on both.
  auto& a = make(config({broker_->ws_url(), broker_->tcp_url()}));
  auto& b = make(config({broker_->tcp_url()}));
  EXPECT_EQ(a.relay_count(), 2u);
  Recorder ra, rb;
  auto sa = a.subscribe("multi", ra.on_message(), ra.on_ready());
  auto sb = b.subscribe("multi", rb.on_message(), rb.on_ready());
  ASSERT_TRUE(wait([&] { return ra.ready_on(0) == 1 && ra.ready_on(1) == 1 && !rb.ready.empty(); },
                   "ready on every relay"));
  b.publish(0, "multi", "fan-out");
  ASSERT_TRUE(wait([&] { return ra.messages.size() == 2; }, "delivered on both relays"));
  EXPECT_NE(ra.messages[0].relay, ra.messages[1].relay);
}

TEST_F(MqttStrategyTest, SubscriptionsAreCountedPerTopic) {
  auto& a = make(config({broker_->ws_url()}));
  Recorder first, second, sentinel;
  auto s1 = a.subscribe("shared", first.on_message(), first.on_ready());
  auto s0 = a.subscribe("sentinel", sentinel.on_message(), sentinel.on_ready());
  ASSERT_TRUE(wait([&] { return !first.ready.empty() && !sentinel.ready.empty(); }, "ready"));

  // A second room on the same topic: no new SUBSCRIBE, but its ready still runs, from the loop.
  second.inside_call = true;
  auto s2 = a.subscribe("shared", second.on_message(), second.on_ready());
  second.inside_call = false;
  EXPECT_TRUE(second.ready.empty());
  ASSERT_TRUE(wait([&] { return second.ready.size() == 1; }, "second ready"));
  EXPECT_FALSE(second.reentered);

  a.publish(0, "shared", "to both");
  ASSERT_TRUE(wait([&] { return first.got("to both") && second.got("to both"); }, "both get it"));

  // Dropping one keeps the broker subscription for the other.
  s1.reset();
  a.publish(0, "shared", "to second");
  a.publish(0, "sentinel", "mark 1");
  ASSERT_TRUE(wait([&] { return sentinel.got("mark 1"); }, "sentinel 1"));
  EXPECT_TRUE(second.got("to second"));
  EXPECT_FALSE(first.got("to second"));

  // Dropping the last one unsubscribes on the broker: our own publish no longer comes back.
  // The broker handles our UNSUBSCRIBE, PUBLISH and PUBLISH in order, so the sentinel proves it.
  s2.reset();
  a.publish(0, "shared", "to nobody");
  a.publish(0, "sentinel", "mark 2");
  ASSERT_TRUE(wait([&] { return sentinel.got("mark 2"); }, "sentinel 2"));
  EXPECT_FALSE(second.got("to nobody"));
  EXPECT_FALSE(s1.active());
}

TEST_F(MqttStrategyTest, UnsubscribeStopsDeliveryFromOthers) {
  auto& a = make(config({broker_->tcp_url()}));
  auto& b = make(config({broker_->tcp_url()}));
  Recorder ra, rb, sentinel;
  auto sa = a.subscribe("topic-x", ra.on_message(), ra.on_ready());
  auto sentinel_sub = a.subscribe("topic-y", sentinel.on_message(), sentinel.on_ready());
  auto sb = b.subscribe("topic-y", rb.on_message(), rb.on_ready());
  ASSERT_TRUE(wait(
      [&] { return !ra.ready.empty() && !sentinel.ready.empty() && !rb.ready.empty(); }, "ready"));
  sa.reset();
  // Make sure A's UNSUBSCRIBE reached the broker before B publishes: A's own marker on topic-y
  // travels behind it on A's connection.
  a.publish(0, "topic-y", "a-flushed");
  ASSERT_TRUE(wait([&] { return rb.got("a-flushed"); }, "A's marker"));
  b.publish(0, "topic-x", "dropped");
  b.publish(0, "topic-y", "after");
  ASSERT_TRUE(wait([&] { return sentinel.got("after"); }, "B's marker"));
  EXPECT_TRUE(ra.messages.empty());
}

TEST_F(MqttStrategyTest, ReconnectsAndResubscribesAfterABrokerRestart) {
  auto& a = make(config({broker_->ws_url()}));
  auto& b = make(config({broker_->tcp_url()}));
  Recorder ra, rb;
  auto sa = a.subscribe("survivor", ra.on_message(), ra.on_ready());
  auto sb = b.subscribe("survivor", rb.on_message(), rb.on_ready());
  ASSERT_TRUE(wait([&] { return ra.ready.size() == 1 && rb.ready.size() == 1; }, "ready"));

  broker_->stop();
  ASSERT_TRUE(
      wait([&] { return state_of(a) != RelayState::Open && state_of(b) != RelayState::Open; },
           "both notice the loss"));
  EXPECT_FALSE(a.relay_statuses()[0].last_error.empty());
  broker_->start();

  ASSERT_TRUE(wait([&] { return ra.ready.size() == 2 && rb.ready.size() == 2; },
                   "ready again after reconnect"));
  EXPECT_EQ(state_of(a), RelayState::Open);
  EXPECT_EQ(a.relay_statuses()[0].reconnects, 1u);
  EXPECT_EQ(b.relay_statuses()[0].reconnects, 1u);
  EXPECT_TRUE(a.relay_statuses()[0].last_error.empty());

  a.publish(0, "survivor", "still here");
  ASSERT_TRUE(wait([&] { return rb.got("still here"); }, "delivery after reconnect"));
}

TEST_F(MqttStrategyTest, PublishWhileDownIsDroppedAndCounted) {
  auto& a = make(config({broker_->tcp_url()}));
  Recorder ra;
  auto sa = a.subscribe("down", ra.on_message(), ra.on_ready());
  ASSERT_TRUE(wait([&] { return !ra.ready.empty(); }, "ready"));
  broker_->stop();
  ASSERT_TRUE(wait([&] { return state_of(a) != RelayState::Open; }, "loss noticed"));
  a.publish(0, "down", "lost 1");
  a.publish(0, "down", "lost 2");
  const auto status = a.relay_statuses()[0];
  EXPECT_EQ(status.dropped_out, 2u);
  EXPECT_EQ(status.messages_out, 0u);
  a.publish(7, "down", "no such relay"); // ignored, not counted anywhere
  EXPECT_EQ(a.relay_statuses()[0].dropped_out, 2u);
}

TEST_F(MqttStrategyTest, RefusedBrokerFailsWithAClearErrorWithoutHanging) {
  // Nothing listens on this port.
  tcp::acceptor probe(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();
  auto c = config({"mqtt://127.0.0.1:" + std::to_string(port)});
  c.max_attempts = 3;
  auto& a = make(c);
  Recorder ra;
  auto sa = a.subscribe("never", ra.on_message(), ra.on_ready());
  ASSERT_TRUE(wait([&] { return state_of(a) == RelayState::Failed; }, "gave up", 5s));
  const auto status = a.relay_statuses()[0];
  EXPECT_NE(status.last_error.find("refused"), std::string::npos) << status.last_error;
  EXPECT_TRUE(ra.ready.empty());
  a.publish(0, "never", "x");
  EXPECT_EQ(a.relay_statuses()[0].dropped_out, 1u);
}

TEST_F(MqttStrategyTest, RefusedBrokerKeepsRetryingWhenUnbounded) {
  tcp::acceptor probe(io_, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();
  auto& a = make(config({"ws://127.0.0.1:" + std::to_string(port) + "/mqtt"}));
  ASSERT_TRUE(wait([&] { return !a.relay_statuses()[0].last_error.empty(); }, "first failure"));
  EXPECT_EQ(state_of(a), RelayState::Closed); // waiting to retry
  a.close();
  EXPECT_EQ(state_of(a), RelayState::Closed);
}

TEST_F(MqttStrategyTest, ClosingMidConnectIsSafeAndPrompt) {
  // A TCP listener that accepts and never speaks: the strategy sits in Connecting (no CONNACK).
  tcp::acceptor silent(io_, {asio::ip::make_address("127.0.0.1"), 0});
  std::vector<tcp::socket> held;
  silent.async_accept([&](error_code ec, tcp::socket s) {
    if (!ec) held.push_back(std::move(s));
  });
  const auto url = "mqtt://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  auto& a = make(config({url}));
  Recorder ra;
  auto sa = a.subscribe("t", ra.on_message(), ra.on_ready());
  ASSERT_TRUE(wait([&] { return !held.empty(); }, "TCP accepted"));
  EXPECT_EQ(state_of(a), RelayState::Connecting);
  a.close();
  EXPECT_EQ(state_of(a), RelayState::Closed);
  silent.close();
  held.clear();
  strategies_.clear();
  EXPECT_TRUE(drain(io_, 3s)); // every coroutine of the strategy has finished
  EXPECT_TRUE(ra.ready.empty());
}

TEST_F(MqttStrategyTest, DestroyingMidConnectIsSafe) {
  auto& a = make(config({broker_->ws_url(), broker_->tcp_url()}));
  Recorder ra;
  auto sa = a.subscribe("t", ra.on_message(), ra.on_ready());
  io_.poll(); // the connect coroutines start (on a fast loopback one may even be ready already)
  const auto ready_before = ra.ready.size();
  strategies_.clear();
  sa.reset(); // a Subscription outliving its strategy is harmless
  EXPECT_TRUE(drain(io_, 5s));
  EXPECT_EQ(ra.ready.size(), ready_before); // no handler runs after destruction
}

TEST_F(MqttStrategyTest, AHandlerMayDestroyTheStrategy) {
  auto& a = make(config({broker_->tcp_url()}));
  Recorder sentinel;
  int calls = 0;
  auto s1 = a.subscribe(
      "boom",
      [&](std::size_t, std::string_view, std::string_view) {
        ++calls;
        strategies_.clear(); // destroys `a` from inside its own handler
      },
      [](std::size_t) {});
  auto s2 = a.subscribe("boom", sentinel.on_message(), sentinel.on_ready());
  ASSERT_TRUE(wait([&] { return !sentinel.ready.empty(); }, "ready"));
  a.publish(0, "boom", "x");
  ASSERT_TRUE(wait([&] { return calls == 1; }, "handler ran"));
  EXPECT_TRUE(sentinel.messages.empty()); // no handler runs after the strategy is gone
  s1.reset();
  s2.reset();
  EXPECT_TRUE(drain(io_, 5s));
}

TEST_F(MqttStrategyTest, NoHandlerRunsAfterClose) {
  auto& a = make(config({broker_->ws_url()}));
  auto& b = make(config({broker_->ws_url()}));
  Recorder ra, rb;
  auto sa = a.subscribe("quiet", ra.on_message(), ra.on_ready());
  auto sb = b.subscribe("quiet", rb.on_message(), rb.on_ready());
  ASSERT_TRUE(wait([&] { return !ra.ready.empty() && !rb.ready.empty(); }, "ready"));
  b.publish(0, "quiet", "in flight");
  a.close();
  ASSERT_TRUE(wait([&] { return rb.got("in flight"); }, "b gets its own"));
  EXPECT_TRUE(ra.messages.empty());
  // Subscribing after close is inert.
  auto late = a.subscribe("quiet", ra.on_message(), ra.on_ready());
  EXPECT_FALSE(late.active());
}

} // namespace
} // namespace posthorn::strategy
