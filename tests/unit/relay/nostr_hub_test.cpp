// The Nostr side of the relay on virtual time: signed ephemeral events reach matching
// subscriptions; forged, non-ephemeral and malformed ones are refused; every bound holds.
#include "relay/nostr_hub.hpp"

#include "core/rng.hpp"

#include <gtest/gtest.h>

namespace posthorn::relay {
namespace {

namespace nostr = signal::nostr;
const Clock::time_point t0{};

std::string req(const std::string& id, std::vector<std::string> x_tags,
                std::vector<std::uint32_t> kinds = {}) {
  return nostr::encode(nostr::ClientMessage(
      nostr::Req{id, {{.kinds = std::move(kinds), .x_tags = std::move(x_tags)}}}));
}

nostr::Event event_on(const std::string& topic, const std::string& content = "{}") {
  static CryptoRng rng;
  static const auto keys = nostr::KeyPair::generate(rng);
  nostr::Digest aux{};
  rng.fill(aux);
  return nostr::make_topic_event(keys, topic, content, 1700000000, aux);
}

std::string publish(const nostr::Event& e) {
  return nostr::encode(nostr::ClientMessage(nostr::ClientEvent{e}));
}

nostr::RelayMessage decode(const Outgoing& o) {
  return std::get<nostr::RelayMessage>(nostr::decode_relay_message(*o.text));
}

TEST(NostrHub, EventsReachTheSubscriptionsThatMatchThem) {
  NostrHub hub;
  for (ClientId c : {1, 2, 3})
    hub.add_client(c, t0);
  auto eose = hub.handle(2, req("s2", {"room"}), t0);
  ASSERT_EQ(eose.sends.size(), 1u);
  EXPECT_EQ(decode(eose.sends[0]), nostr::RelayMessage(nostr::Eose{"s2"}));
  (void)hub.handle(3, req("s3", {"elsewhere"}), t0);
  (void)hub.handle(1, req("s1", {"room"}), t0); // the author's own subscription matches too

  const auto e = event_on("room");
  auto out = hub.handle(1, publish(e), t0);
  ASSERT_EQ(out.sends.size(), 3u); // to 1 and 2, then OK to 1
  std::set<ClientId> reached;
  for (std::size_t i = 0; i + 1 < out.sends.size(); ++i) {
    const auto m = std::get<nostr::RelayEvent>(decode(out.sends[i]));
    EXPECT_EQ(m.event, e);
    reached.insert(out.sends[i].to.at(0));
  }
  EXPECT_EQ(reached, (std::set<ClientId>{1, 2}));
  EXPECT_EQ(decode(out.sends.back()), nostr::RelayMessage(nostr::Ok{e.id, true, ""}));
}

TEST(NostrHub, FiltersOnKindsApplyWithinATopic) {
  NostrHub hub;
  hub.add_client(1, t0);
  hub.add_client(2, t0);
  const auto e = event_on("room");
  (void)hub.handle(2, req("s", {"room"}, {e.kind + 1}), t0);
  EXPECT_EQ(hub.handle(1, publish(e), t0).sends.size(), 1u); // only the OK
  (void)hub.handle(2, req("s", {"room"}, {e.kind}), t0);     // same id: replaces the filter
  EXPECT_EQ(hub.handle(1, publish(e), t0).sends.size(), 2u);
  (void)hub.handle(2, nostr::encode(nostr::ClientMessage(nostr::Close{"s"})), t0);
  EXPECT_EQ(hub.handle(1, publish(e), t0).sends.size(), 1u);
  EXPECT_EQ(hub.stats().subscriptions, 0u);
}

TEST(NostrHub, ForgedAndStoredKindsAreRefusedWithOkFalse) {
  NostrHub hub;
  hub.add_client(1, t0);
  hub.add_client(2, t0);
  (void)hub.handle(2, req("s", {"room"}), t0);
  auto forged = event_on("room");
  forged.content = "changed after signing";
  auto out = hub.handle(1, publish(forged), t0);
  ASSERT_EQ(out.sends.size(), 1u);
  const auto refused = std::get<nostr::Ok>(decode(out.sends[0]));
  EXPECT_FALSE(refused.accepted);
  EXPECT_TRUE(refused.message.starts_with("invalid:"));

  CryptoRng rng;
  const auto stored =
      nostr::make_topic_event(nostr::KeyPair::generate(rng), "room", "{}", 1, nostr::Digest{});
  auto note = stored;
  note.kind = 1; // a regular, stored kind (re-signing is not needed: the kind check comes first)
  out = hub.handle(1, publish(note), t0);
  EXPECT_TRUE(std::get<nostr::Ok>(decode(out.sends[0])).message.starts_with("blocked:"));
  EXPECT_EQ(hub.stats().deliveries, 0u);
  EXPECT_EQ(hub.stats().refused, 2u);
}

TEST(NostrHub, BoundsPerClient) {
  NostrHub hub({.max_subscriptions_per_client = 2,
                .max_filters_per_req = 1,
                .max_values_per_filter = 2,
                .rate_per_second = 1,
                .burst = 8,
                .max_refusals = 3});
  hub.add_client(1, t0);
  (void)hub.handle(1, req("a", {"t"}), t0);
  (void)hub.handle(1, req("b", {"t"}), t0);
  auto out = hub.handle(1, req("c", {"t"}), t0);
  EXPECT_EQ(std::get<nostr::Closed>(decode(out.sends[0])).message,
            "error: more than 2 subscriptions");
  out = hub.handle(1, req("a", {"t", "u", "v"}), t0);
  EXPECT_EQ(std::get<nostr::Notice>(decode(out.sends[0])).message,
            "error: more than 2 values in one filter");
  out = hub.handle(1, "[\"REQ\",\"a\",{},{}]", t0);
  EXPECT_EQ(std::get<nostr::Notice>(decode(out.sends[0])).message,
            "error: more than 1 filters in one REQ");
  out = hub.handle(1, "nope", t0);
  EXPECT_TRUE(out.disconnect); // the third refusal in a row
  EXPECT_EQ(hub.stats().disconnected, 1u);
}

TEST(NostrHub, AFloodIsRateLimited) {
  NostrHub hub({.rate_per_second = 1, .burst = 2});
  hub.add_client(1, t0);
  (void)hub.handle(1, req("a", {"t"}), t0);
  (void)hub.handle(1, req("a", {"t"}), t0);
  auto out = hub.handle(1, req("a", {"t"}), t0);
  EXPECT_EQ(std::get<nostr::Notice>(decode(out.sends[0])).message, "rate-limited: slow down");
}

TEST(NostrHub, LeavingReleasesEverySubscription) {
  NostrHub hub;
  hub.add_client(1, t0);
  hub.add_client(2, t0);
  (void)hub.handle(2, req("a", {"t"}), t0);
  (void)hub.handle(2, req("b", {}), t0); // no #x: sees everything
  hub.remove_client(2);
  EXPECT_EQ(hub.handle(1, publish(event_on("t")), t0).sends.size(), 1u); // only the OK
  EXPECT_EQ(hub.stats().subscriptions, 0u);
  EXPECT_EQ(hub.stats().clients, 1u);
}

} // namespace
} // namespace posthorn::relay
