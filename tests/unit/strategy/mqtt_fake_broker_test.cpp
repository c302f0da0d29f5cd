// MqttStrategy against a scripted in-process broker, for what a real mosquitto will not do on
// demand: withhold PINGRESP, refuse the CONNECT, send garbage, a packet before CONNACK, an
// oversized PUBLISH, QoS 1 publishes. Also configuration errors and RelayState names.
#include "strategy/mqtt_strategy.hpp"

#include "signal/mqtt_codec.hpp"
#include "strategy_test_util.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

namespace posthorn::strategy {
namespace {

namespace asio = boost::asio;
namespace mqtt = signal::mqtt;
using tcp = asio::ip::tcp;
using test::drain;
using test::Recorder;
using test::run_until;
using namespace std::chrono_literals;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct ClientPacket {
  std::uint8_t type;
  Bytes body;
};

/// A broker that answers CONNECT and SUBSCRIBE like a real one, with hooks to misbehave.
class FakeBroker {
public:
  struct Script {
    std::uint8_t connack_code = 0;
    bool answer_pings = true;
    Bytes after_connack;  // raw bytes sent right after the CONNACK
    Bytes before_connack; // raw bytes sent instead of waiting for CONNECT
    bool publish_qos1_on_subscribe = false;
  };

  FakeBroker(asio::io_context& io, Script script)
      : io_(io), script_(std::move(script)),
        acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  ~FakeBroker() { stop(); }
  void stop() {
    error_code ignored;
    acceptor_.close(ignored);
    for (auto& s : sockets_)
      s->close(ignored);
  }
  [[nodiscard]] std::string url() const {
    return "mqtt://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int connections = 0;
  int pings = 0;
  std::vector<std::string> client_ids;
  std::vector<std::uint16_t> pubacks;

private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      ++connections;
      auto s = std::make_shared<tcp::socket>(std::move(socket));
      sockets_.push_back(s);
      asio::co_spawn(io_, session(s), asio::detached);
    }
  }

  asio::awaitable<void> send(std::shared_ptr<tcp::socket> s, const Bytes& bytes) {
    co_await asio::async_write(*s, asio::buffer(bytes), kNoThrow);
  }

  asio::awaitable<void> session(std::shared_ptr<tcp::socket> s) {
    if (!script_.before_connack.empty()) co_await send(s, script_.before_connack);
    Bytes buffer;
    std::vector<std::uint8_t> chunk(4096);
    for (;;) {
      auto [ec, n] = co_await s->async_read_some(asio::buffer(chunk), kNoThrow);
      if (ec) co_return;
      buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<long>(n));
      std::vector<Bytes> replies;
      while (auto packet = take_packet(buffer))
        for (auto& reply : handle(*packet))
          replies.push_back(std::move(reply));
      for (const auto& reply : replies)
        co_await send(s, reply);
    }
  }

  /// Splits one client packet off the front of `buffer` (fixed header, §2.2).
  static std::optional<ClientPacket> take_packet(Bytes& buffer) {
    std::size_t length = 0, i = 1;
    for (int shift = 0;; shift += 7, ++i) {
      if (i >= buffer.size()) return std::nullopt;
      length |= static_cast<std::size_t>(buffer[i] & 0x7F) << shift;
      if ((buffer[i] & 0x80) == 0) break;
    }
    if (buffer.size() < i + 1 + length) return std::nullopt;
    ClientPacket p{static_cast<std::uint8_t>(buffer[0] >> 4),
                   Bytes(buffer.begin() + static_cast<long>(i + 1),
                         buffer.begin() + static_cast<long>(i + 1 + length))};
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<long>(i + 1 + length));
    return p;
  }

  /// The broker's answers to one client packet.
  std::vector<Bytes> handle(const ClientPacket& p) {
    std::vector<Bytes> out;
    switch (static_cast<mqtt::PacketType>(p.type)) {
    case mqtt::PacketType::Connect: {
      // Variable header is 10 bytes (§3.1.2); then the client id string.
      const std::size_t len = (p.body[10] << 8) | p.body[11];
      client_ids.emplace_back(p.body.begin() + 12, p.body.begin() + 12 + static_cast<long>(len));
      out.push_back(*mqtt::encode(mqtt::ConnAck{.return_code = script_.connack_code}));
      if (!script_.after_connack.empty()) out.push_back(script_.after_connack);
      break;
    }
    case mqtt::PacketType::Subscribe: {
      const auto id = static_cast<std::uint16_t>((p.body[0] << 8) | p.body[1]);
      out.push_back(*mqtt::encode(mqtt::SubAck{.packet_id = id, .return_codes = {0}}));
      if (script_.publish_qos1_on_subscribe) {
        const std::size_t tlen = (p.body[2] << 8) | p.body[3];
        std::string topic(p.body.begin() + 4, p.body.begin() + 4 + static_cast<long>(tlen));
        out.push_back(*mqtt::encode(
            mqtt::Publish{.topic = topic, .payload = to_bytes("qos1"), .qos = 1, .packet_id = 77}));
      }
      break;
    }
    case mqtt::PacketType::PingReq:
      ++pings;
      if (script_.answer_pings) out.push_back(*mqtt::encode(mqtt::PingResp{}));
      break;
    case mqtt::PacketType::PubAck:
      pubacks.push_back(static_cast<std::uint16_t>((p.body[0] << 8) | p.body[1]));
      break;
    default: break;
    }
    return out;
  }

  asio::io_context& io_;
  Script script_;
  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
};

class MqttFakeBrokerTest : public ::testing::Test {
protected:
  void TearDown() override {
    strategy_.reset();
    if (broker_) broker_->stop();
    drain(io_);
    broker_.reset();
  }
  MqttStrategy& start(FakeBroker::Script script,
                      std::function<void(MqttStrategyConfig&)> tweak = {}) {
    broker_ = std::make_unique<FakeBroker>(io_, std::move(script));
    MqttStrategyConfig c;
    c.urls = {broker_->url()};
    c.reconnect_min = 50ms;
    c.reconnect_max = 200ms;
    c.connect_timeout = 2s;
    if (tweak) tweak(c);
    strategy_ = std::make_unique<MqttStrategy>(io_.get_executor(), std::move(c), rng_);
    return *strategy_;
  }
  bool wait(const std::function<bool()>& done, const std::string& label,
            std::chrono::milliseconds timeout = 10s) {
    return run_until(io_, done, timeout, label);
  }
  RelayStatus status() { return strategy_->relay_statuses().at(0); }

  asio::io_context io_;
  SeededRng rng_{7};
  std::unique_ptr<FakeBroker> broker_;
  std::unique_ptr<MqttStrategy> strategy_;
};

TEST_F(MqttFakeBrokerTest, UsesMqttJsStyleClientIds) {
  start({});
  ASSERT_TRUE(wait([&] { return !broker_->client_ids.empty(); }, "CONNECT"));
  const auto& id = broker_->client_ids.front();
  ASSERT_EQ(id.size(), 15u);
  EXPECT_EQ(id.substr(0, 7), "mqttjs_");
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 7), std::string::npos) << id;
}

TEST_F(MqttFakeBrokerTest, MissingPingRespDropsTheConnectionAndReconnects) {
  auto& s = start({.answer_pings = false}, [](auto& c) { c.keepalive = 1s; });
  Recorder r;
  auto sub = s.subscribe("t", r.on_message(), r.on_ready());
  ASSERT_TRUE(wait([&] { return broker_->pings >= 1; }, "first PINGREQ", 3s));
  ASSERT_TRUE(
      wait([&] { return broker_->connections >= 2; }, "reconnect after keepalive timeout", 4s));
  EXPECT_NE(status().last_error.find("keepalive"), std::string::npos) << status().last_error;
  ASSERT_TRUE(wait([&] { return r.ready.size() >= 2; }, "ready again"));
  EXPECT_GE(status().reconnects, 1u);
}

TEST_F(MqttFakeBrokerTest, AnsweredPingsKeepTheConnection) {
  auto& s = start({}, [](auto& c) { c.keepalive = 1s; });
  Recorder r;
  auto sub = s.subscribe("t", r.on_message(), r.on_ready());
  ASSERT_TRUE(wait([&] { return broker_->pings >= 3; }, "three PINGREQs", 5s));
  EXPECT_EQ(broker_->connections, 1);
  EXPECT_EQ(status().state, RelayState::Open);
}

TEST_F(MqttFakeBrokerTest, NotAuthorizedIsFinal) {
  auto& s = start({.connack_code = 5});
  ASSERT_TRUE(wait([&] { return s.relay_statuses()[0].state == RelayState::Failed; }, "failed"));
  EXPECT_EQ(status().last_error, "broker refused the connection: not authorized");
  EXPECT_EQ(broker_->connections, 1);
}

TEST_F(MqttFakeBrokerTest, RejectedClientIdRetriesWithANewOne) {
  start({.connack_code = 2});
  ASSERT_TRUE(wait([&] { return broker_->client_ids.size() >= 2; }, "second CONNECT"));
  EXPECT_NE(broker_->client_ids[0], broker_->client_ids[1]);
  EXPECT_EQ(status().state == RelayState::Failed, false);
}

TEST_F(MqttFakeBrokerTest, GarbageFromTheBrokerIsDroppedAndCounted) {
  start({.after_connack = {0xF0, 0x00}}); // reserved packet type 15
  ASSERT_TRUE(wait([&] { return broker_->connections >= 2; }, "reconnect"));
  EXPECT_GE(status().dropped_in, 1u);
  EXPECT_NE(status().last_error.find("protocol error"), std::string::npos) << status().last_error;
}

TEST_F(MqttFakeBrokerTest, APacketBeforeConnAckIsAProtocolError) {
  start({.before_connack = {0xD0, 0x00}}); // PINGRESP first
  ASSERT_TRUE(wait([&] { return status().last_error.find("before CONNACK") != std::string::npos; },
                   "protocol error"));
}

TEST_F(MqttFakeBrokerTest, AnOversizedPublishIsSkippedNotFatal) {
  auto big = *mqtt::encode(mqtt::Publish{.topic = "t", .payload = Bytes(5000, 'x')});
  auto small = *mqtt::encode(mqtt::Publish{.topic = "t", .payload = to_bytes("fits")});
  Bytes both = big;
  both.insert(both.end(), small.begin(), small.end());
  auto& s = start({.after_connack = both}, [](auto& c) { c.max_packet_size = 1024; });
  Recorder r;
  auto sub = s.subscribe("t", r.on_message(), r.on_ready());
  ASSERT_TRUE(wait([&] { return r.got("fits"); }, "the small one"));
  EXPECT_EQ(status().dropped_in, 1u);
  EXPECT_EQ(broker_->connections, 1);
  EXPECT_EQ(r.messages.size(), 1u);
}

TEST_F(MqttFakeBrokerTest, Qos1PublishesAreAcknowledged) {
  auto& s = start({.publish_qos1_on_subscribe = true});
  Recorder r;
  auto sub = s.subscribe("t", r.on_message(), r.on_ready());
  ASSERT_TRUE(wait([&] { return r.got("qos1") && !broker_->pubacks.empty(); }, "PUBACK"));
  EXPECT_EQ(broker_->pubacks.front(), 77);
}

TEST_F(MqttFakeBrokerTest, ConnectTimeoutWithoutConnAck) {
  // The broker accepts TCP but our CONNECT is never answered: a CONNACK deadline, then retry.
  asio::io_context& io = io_;
  tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::vector<tcp::socket> held;
  std::function<void()> accept = [&] {
    silent.async_accept([&](error_code ec, tcp::socket sock) {
      if (ec) return;
      held.push_back(std::move(sock));
      accept();
    });
  };
  accept();
  MqttStrategyConfig c;
  c.urls = {"tcp://127.0.0.1:" + std::to_string(silent.local_endpoint().port())};
  c.connect_timeout = 200ms;
  c.reconnect_min = 50ms;
  c.reconnect_max = 100ms;
  strategy_ = std::make_unique<MqttStrategy>(io_.get_executor(), c, rng_);
  ASSERT_TRUE(wait([&] { return held.size() >= 2; }, "second attempt", 3s));
  EXPECT_NE(status().last_error.find("CONNACK"), std::string::npos) << status().last_error;
  strategy_.reset();
  silent.close();
  held.clear();
}

TEST(MqttStrategyConfigTest, RejectsBadConfiguration) {
  asio::io_context io;
  SeededRng rng(1);
  auto make = [&](MqttStrategyConfig c) { MqttStrategy s(io.get_executor(), std::move(c), rng); };
  EXPECT_THROW(make({}), std::invalid_argument);
  EXPECT_THROW(make({.urls = {"http://x"}}), std::invalid_argument);
  EXPECT_THROW(make({.urls = {"ws://h"}, .keepalive = std::chrono::seconds(70000)}),
               std::invalid_argument);
  EXPECT_THROW(make({.urls = {"ws://h"}, .reconnect_min = 5s, .reconnect_max = 1s}),
               std::invalid_argument);
  try {
    make({.urls = {"wss://user:hunter2@bad host/"}});
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
}

TEST(MqttStrategyConfigTest, RejectsTopicsMqttCannotCarry) {
  asio::io_context io;
  SeededRng rng(1);
  MqttStrategy s(io.get_executor(), {.urls = {"ws://127.0.0.1:1/"}}, rng);
  auto noop = [](std::size_t, std::string_view, std::string_view) {};
  auto ready = [](std::size_t) {};
  EXPECT_THROW((void)s.subscribe("", noop, ready), std::invalid_argument);
  EXPECT_THROW((void)s.subscribe("a/+", noop, ready), std::invalid_argument);
  EXPECT_THROW((void)s.subscribe("#", noop, ready), std::invalid_argument);
  EXPECT_THROW((void)s.subscribe("\xFF", noop, ready), std::invalid_argument);
  s.close();
  drain(io);
}

TEST(RelayStateTest, HasStableNames) {
  EXPECT_EQ(to_string(RelayState::Connecting), "connecting");
  EXPECT_EQ(to_string(RelayState::Open), "open");
  EXPECT_EQ(to_string(RelayState::Closed), "closed");
  EXPECT_EQ(to_string(RelayState::Failed), "failed");
}

TEST(MakeMqttStrategyTest, ReturnsAStrategyWithOneRelayPerUrl) {
  asio::io_context io;
  SeededRng rng(1);
  auto s = make_mqtt_strategy(io.get_executor(),
                              {.urls = {"ws://127.0.0.1:1/", "mqtt://127.0.0.1:1"}}, rng);
  EXPECT_EQ(s->relay_count(), 2u);
  const auto statuses = s->relay_statuses();
  EXPECT_EQ(statuses[0].url, "ws://127.0.0.1:1/");
  EXPECT_EQ(statuses[1].url, "mqtt://127.0.0.1:1/");
  s.reset();
  drain(io);
}

} // namespace
} // namespace posthorn::strategy
