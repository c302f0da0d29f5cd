// The relay's pub/sub hub on virtual time: who gets what, and every bound a client can hit.
#include "relay/pubsub_hub.hpp"

#include <gtest/gtest.h>

namespace posthorn::relay {
namespace {

namespace wsrelay = signal::wsrelay;
using namespace std::chrono_literals;

const Clock::time_point t0{};

std::string sub(const std::string& topic) {
  return wsrelay::encode(wsrelay::Subscribe{topic});
}
std::string unsub(const std::string& topic) {
  return wsrelay::encode(wsrelay::Unsubscribe{topic});
}
std::string pub(const std::string& topic, const std::string& payload) {
  return wsrelay::encode(wsrelay::Publish{topic, payload});
}

wsrelay::RelayMessage decode(const Outgoing& o) {
  auto m = wsrelay::decode_relay_message(*o.text);
  return std::get<wsrelay::RelayMessage>(m);
}

TEST(PubSubHub, SubscribersOfATopicGetWhatOthersPublishThere) {
  PubSubHub hub;
  for (ClientId c : {1, 2, 3, 4})
    hub.add_client(c, t0);
  for (ClientId c : {1, 2, 3}) {
    auto out = hub.handle(c, sub("room"), t0);
    ASSERT_EQ(out.sends.size(), 1u);
    EXPECT_EQ(out.sends[0].to, std::vector<ClientId>{c});
    EXPECT_EQ(decode(out.sends[0]), wsrelay::RelayMessage(wsrelay::Subscribed{"room"}));
  }
  auto out = hub.handle(1, pub("room", "hi"), t0);
  ASSERT_EQ(out.sends.size(), 1u);
  EXPECT_EQ(out.sends[0].to, (std::vector<ClientId>{2, 3})); // not the publisher, not client 4
  EXPECT_EQ(decode(out.sends[0]), wsrelay::RelayMessage(wsrelay::Delivery{"room", "hi"}));
  // Client 4 may publish without subscribing; nobody else holds "elsewhere".
  EXPECT_EQ(hub.handle(4, pub("room", "x"), t0).sends[0].to.size(), 3u);
  EXPECT_TRUE(hub.handle(4, pub("elsewhere", "x"), t0).sends.empty());
  EXPECT_EQ(hub.stats().deliveries, 5u);
  EXPECT_EQ(hub.stats().subscriptions, 3u);
}

TEST(PubSubHub, UnsubscribingAndLeavingReleaseTopics) {
  PubSubHub hub;
  hub.add_client(1, t0);
  hub.add_client(2, t0);
  (void)hub.handle(1, sub("a"), t0);
  (void)hub.handle(1, sub("b"), t0);
  (void)hub.handle(2, sub("a"), t0);
  (void)hub.handle(1, unsub("a"), t0);
  EXPECT_TRUE(hub.handle(2, pub("a", "x"), t0).sends.empty()); // 1 left "a"
  EXPECT_EQ(hub.stats().topics, 2u);
  hub.remove_client(1);
  EXPECT_EQ(hub.stats().topics, 1u); // "b" went with its last subscriber
  hub.remove_client(2);
  EXPECT_EQ(hub.stats().topics, 0u);
  EXPECT_EQ(hub.stats().clients, 0u);
}

TEST(PubSubHub, BadMessagesAreRefusedAndTheClientStays) {
  PubSubHub hub;
  hub.add_client(1, t0);
  auto out = hub.handle(1, "{nope", t0);
  ASSERT_EQ(out.sends.size(), 1u);
  EXPECT_FALSE(out.disconnect);
  EXPECT_EQ(decode(out.sends[0]), wsrelay::RelayMessage(wsrelay::Refusal{"bad message: not JSON"}));
  const std::string big = pub("t", std::string(hub.limits().max_message_bytes, 'x'));
  out = hub.handle(1, big, t0);
  EXPECT_EQ(std::get<wsrelay::Refusal>(decode(out.sends[0])).error,
            "message larger than 65536 bytes");
  EXPECT_EQ(hub.stats().refused, 2u);
  EXPECT_EQ(hub.handle(1, sub("t"), t0).sends.size(), 1u); // still served
}

TEST(PubSubHub, ASubscriptionLimitPerClient) {
  PubSubHub hub({.max_topics_per_client = 2});
  hub.add_client(1, t0);
  (void)hub.handle(1, sub("a"), t0);
  (void)hub.handle(1, sub("b"), t0);
  (void)hub.handle(1, sub("a"), t0); // again: not a new subscription
  auto out = hub.handle(1, sub("c"), t0);
  EXPECT_EQ(std::get<wsrelay::Refusal>(decode(out.sends[0])).error, "more than 2 subscriptions");
  EXPECT_EQ(hub.stats().subscriptions, 2u);
}

TEST(PubSubHub, AFloodIsRateLimitedThenDisconnected) {
  PubSubHub hub({.rate_per_second = 10, .burst = 5, .max_refusals = 3});
  hub.add_client(1, t0);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(decode(hub.handle(1, sub("t"), t0).sends[0]),
              wsrelay::RelayMessage(wsrelay::Subscribed{"t"}));
  auto out = hub.handle(1, sub("t"), t0);
  EXPECT_EQ(std::get<wsrelay::Refusal>(decode(out.sends[0])).error, "rate-limited: slow down");
  // A tenth of a second buys one more message, and a served message resets the refusal count.
  EXPECT_EQ(hub.handle(1, sub("t"), t0 + 100ms).sends.size(), 1u);
  (void)hub.handle(1, sub("t"), t0 + 100ms);
  (void)hub.handle(1, sub("t"), t0 + 100ms);
  out = hub.handle(1, sub("t"), t0 + 100ms);
  EXPECT_TRUE(out.disconnect);
  EXPECT_EQ(hub.stats().disconnected, 1u);
}

TEST(PubSubHub, MessagesFromUnknownClientsAreIgnored) {
  PubSubHub hub;
  EXPECT_TRUE(hub.handle(9, sub("t"), t0).sends.empty());
  EXPECT_EQ(hub.stats().messages_in, 0u);
}

} // namespace
} // namespace posthorn::relay
