// Passive rooms (§4.5): dormant until a non-passive peer shows up, then announcing with
// "passive":true, and asleep again once no peer work is left.
#include "coordinator_harness.hpp"

namespace posthorn::signal::test {
namespace {

using Type = SignalMessage::Type;

CoordinatorConfig passive_config(const PeerId& self) {
  auto config = make_config(self);
  config.passive = true;
  return config;
}

TEST(CoordinatorPassive, DormantRoomSubscribesToTheRootOnlyAndStaysQuiet) {
  Solo s(passive_config(kLow));
  EXPECT_EQ(s.node.subscriptions, (std::set<std::string>{root()}));
  EXPECT_TRUE(s.node.published.empty());
  EXPECT_FALSE(s.node.c().is_active());
  EXPECT_FALSE(s.node.c().poll_timeout());
}

TEST(CoordinatorPassive, AnnounceWakesItUp) {
  Solo s(passive_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  EXPECT_TRUE(s.node.c().is_active());
  EXPECT_EQ(s.node.all_events<Activated>().size(), 1u);
  EXPECT_TRUE(s.node.subscriptions.contains(topic_of(kLow)));
  // It announces at once, marked passive, and (being the lower id) offers, marked passive too.
  const auto announces = s.node.sent(Type::Announce, root());
  ASSERT_EQ(announces.size(), 1u);
  EXPECT_EQ(announces[0].first.text, R"({"peerId":")" + kLow + R"(","passive":true})");
  const auto offers = s.node.sent(Type::Offer);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_TRUE(offers[0].second.passive);
  EXPECT_TRUE(s.node.sent(Type::Candidate).at(0).second.passive);
  // The subscription comes before the first publish.
  ASSERT_GE(s.node.commands.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<Subscribe>(s.node.commands[1]));
}

TEST(CoordinatorPassive, PokesNeverCarryPassive) {
  Solo s(passive_config(kHigh));
  Remote low(kLow);
  s.inject(root(), low.announce());
  const auto pokes = s.node.sent(Type::Announce, low.topic());
  ASSERT_EQ(pokes.size(), 1u);
  EXPECT_EQ(pokes[0].first.text, R"({"peerId":")" + kHigh + R"("})");
}

TEST(CoordinatorPassive, OfferWakesItUpAndIsAnsweredAsPassive) {
  Solo s(passive_config(kHigh));
  Remote low(kLow);
  s.inject(root(), low.offer("offer-1", "sdp"));
  EXPECT_TRUE(s.node.c().is_active());
  ASSERT_EQ(s.node.all<CreateAnswer>().size(), 1u);
  EXPECT_TRUE(s.node.sent(Type::Answer).at(0).second.passive);
}

TEST(CoordinatorPassive, AnswersAndCandidatesCannotWakeIt) {
  Solo s(passive_config(kHigh));
  Remote low(kLow);
  s.inject(root(), low.answer("o", "sdp"));
  s.inject(root(), low.candidate("o", make_candidate("x", 1)));
  EXPECT_FALSE(s.node.c().is_active());
  EXPECT_EQ(s.node.c().stats().dropped_inactive, 2u);
  EXPECT_TRUE(s.node.published.empty());
}

TEST(CoordinatorPassive, PassivePeersIgnoreEachOther) {
  Solo s(passive_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce(true));
  EXPECT_FALSE(s.node.c().is_active());
  EXPECT_EQ(s.node.c().stats().dropped_passive_peer, 1u);
}

TEST(CoordinatorPassive, NonPassiveRoomsTreatPassivePeersNormally) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce(true));
  EXPECT_EQ(s.node.all<CreateOffer>().size(), 1u);
}

TEST(CoordinatorPassive, SleepsAgainWhenNoWorkIsLeft) {
  Solo s(passive_config(kHigh)); // the higher id: it only pokes, so no work is created
  Remote low(kLow);
  s.inject(root(), low.announce());
  ASSERT_TRUE(s.node.c().is_active());
  s.advance(milliseconds(7532));
  EXPECT_TRUE(s.node.c().is_active());
  s.advance(milliseconds(1));
  EXPECT_FALSE(s.node.c().is_active());
  EXPECT_EQ(s.node.all_events<Deactivated>().size(), 1u);
  EXPECT_FALSE(s.node.c().poll_timeout()); // announcing stopped
  const std::size_t published = s.node.published.size();
  s.advance(seconds(120));
  EXPECT_EQ(s.node.published.size(), published);
  // A second wake-up does not subscribe again.
  s.inject(root(), low.announce());
  EXPECT_EQ(s.node.all<Subscribe>().size(), 2u);
  EXPECT_EQ(s.node.all_events<Activated>().size(), 2u);
}

TEST(CoordinatorPassive, StaysAwakeWhileConnectedAndSleepsAfterTheLoss) {
  Solo s(passive_config(kHigh));
  Remote low(kLow);
  s.inject(root(), low.offer("offer-1", "sdp"));
  s.node.c().handle_connected(s.now, s.node.all<CreateAnswer>().at(0).pc);
  s.advance(seconds(30));
  EXPECT_TRUE(s.node.c().is_active());
  s.node.c().handle_peer_lost(s.now, kLow);
  s.node.drain(s.now);
  EXPECT_FALSE(s.node.c().is_active());
  EXPECT_EQ(s.node.all_events<Deactivated>().size(), 1u);
}

TEST(CoordinatorPassive, SleepsWhenItsOfferExpires) {
  Solo s(passive_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  s.advance(seconds(30));
  EXPECT_TRUE(s.node.c().is_active()); // the offer is still pending
  s.advance(seconds(30));
  EXPECT_EQ(s.node.c().stats().offers_expired, 1u);
  EXPECT_FALSE(s.node.c().is_active());
}

} // namespace
} // namespace posthorn::signal::test
