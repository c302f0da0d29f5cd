// The Nostr strategy's pure parts: Trystero's default relay choice (spec §5.1, TV9).
#include "strategy/nostr_strategy.hpp"

#include <gtest/gtest.h>

namespace posthorn::strategy {
namespace {

TEST(NostrDefaultRelays, Tv9PicksFiveOfTheDefaultsByAppId) {
  EXPECT_EQ(nostr_default_relays("posthorn-test"),
            (std::vector<std::string>{"wss://relay.agorist.space", "wss://strfry.shock.network",
                                      "wss://nostr-01.yakihonne.com", "wss://schnorr.me",
                                      "wss://top.testrelay.top"}));
  EXPECT_EQ(nostr_default_relays("posthorn-test", 2).size(), 2u);
  EXPECT_EQ(nostr_default_relays("posthorn-test", 100).size(), 28u);
}

} // namespace
} // namespace posthorn::strategy
