// Two coordinators over the in-memory relay bus: the whole §4.2 exchange.
#include "coordinator_harness.hpp"

namespace posthorn::signal::test {
namespace {

using Type = SignalMessage::Type;

// Exactly one side offers, the lower id, and each side's PC sees the other's SDP.
void expect_one_negotiation(const Node& low, const Node& high) {
  ASSERT_EQ(low.all<CreateOffer>().size(), 1u);
  EXPECT_TRUE(high.all<CreateOffer>().empty());
  ASSERT_EQ(high.all<CreateAnswer>().size(), 1u);
  EXPECT_TRUE(low.all<CreateAnswer>().empty());
  ASSERT_EQ(low.all<ApplyAnswer>().size(), 1u);

  const PcId offer_pc = low.all<CreateOffer>()[0].pc;
  const PcId answer_pc = high.all<CreateAnswer>()[0].pc;
  EXPECT_EQ(low.all<CreateOffer>()[0].peer, high.id);
  EXPECT_EQ(high.all<CreateAnswer>()[0].peer, low.id);
  EXPECT_EQ(high.pcs.at(answer_pc).remote_sdp, low.pcs.at(offer_pc).local_sdp);
  EXPECT_EQ(low.pcs.at(offer_pc).remote_sdp, high.pcs.at(answer_pc).local_sdp);
  EXPECT_EQ(low.all<ApplyAnswer>()[0].pc, offer_pc);
  // Trickled candidates crossed over.
  EXPECT_EQ(low.pcs.at(offer_pc).remote_candidates.size(), high.candidates_per_pc);
  EXPECT_EQ(high.pcs.at(answer_pc).remote_candidates.size(), low.candidates_per_pc);
}

TEST(CoordinatorPair, LowerIdOffersWhenItJoinedFirst) {
  Bus bus;
  Node& low = bus.add(kLow);
  Node& high = bus.add(kHigh);
  bus.join(low);
  bus.advance(seconds(5)); // low's burst is over before high arrives
  bus.join(high);
  expect_one_negotiation(low, high);
  EXPECT_TRUE(high.sent(Type::Announce, topic_of(kLow)).empty()); // no poke needed
  bus.advance(seconds(10));
  expect_one_negotiation(low, high); // later announces change nothing
}

TEST(CoordinatorPair, HigherIdPokesWhenTheLowerIdJoinsLater) {
  Bus bus;
  Node& low = bus.add(kLow);
  Node& high = bus.add(kHigh);
  bus.join(high);
  bus.advance(seconds(5));
  bus.join(low);
  // high saw low's announce, cannot offer, and pokes low's selfTopic.
  const auto pokes = high.sent(Type::Announce, topic_of(kLow));
  ASSERT_GE(pokes.size(), 1u);
  EXPECT_EQ(pokes[0].first.text, R"({"peerId":")" + kHigh + R"("})");
  expect_one_negotiation(low, high);
}

TEST(CoordinatorPair, SimultaneousJoinStillHasOneOfferer) {
  Bus bus(2);
  Node& low = bus.add(kLow);
  Node& high = bus.add(kHigh);
  low.c().start(bus.now);
  high.c().start(bus.now);
  bus.settle();
  bus.ready(high, 0);
  bus.ready(low, 0);
  bus.ready(low, 1);
  bus.ready(high, 1);
  bus.advance(seconds(3));
  expect_one_negotiation(low, high);
}

TEST(CoordinatorPair, DuplicatesOverTwoRelaysGiveOneAnswer) {
  Bus bus(2);
  Node& low = bus.add(kLow);
  Node& high = bus.add(kHigh);
  high.candidates_per_pc = 2;
  low.candidates_per_pc = 3;
  bus.join(high);
  bus.join(low);
  bus.advance(seconds(3));
  expect_one_negotiation(low, high);
  // The same offer (same offerId, same ciphertext) went out on both relays.
  const auto offers = low.sent(Type::Offer);
  ASSERT_GE(offers.size(), 2u);
  std::set<std::size_t> relays;
  for (const auto& [p, m] : offers) {
    relays.insert(p.relay);
    EXPECT_EQ(p.text, offers[0].first.text);
  }
  EXPECT_EQ(relays.size(), 2u);
  EXPECT_GE(high.c().stats().dropped_duplicate, 1u);
  // One answer, on the relay the offer came from, carrying the offer's offerId.
  const auto answers = high.sent(Type::Answer);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].second.offer_id, offers[0].second.offer_id);
  EXPECT_EQ(answers[0].first.relay, offers[0].first.relay);
  // Our candidates followed the offer on both relays; the receiver applied each once.
  EXPECT_EQ(low.sent(Type::Candidate).size(), 2 * low.candidates_per_pc);
  EXPECT_GE(high.c().stats().dropped_candidate_duplicate, low.candidates_per_pc);
}

TEST(CoordinatorPair, ConnectedPeersIgnoreEachOthersSignaling) {
  Bus bus;
  Node& low = bus.add(kLow);
  Node& high = bus.add(kHigh);
  bus.join(low);
  bus.join(high);
  bus.connect(low, high);
  EXPECT_EQ(low.c().peer_status(kHigh), PeerStatus::Connected);
  EXPECT_EQ(high.c().peer_status(kLow), PeerStatus::Connected);
  bus.advance(seconds(130)); // steady announces on both sides, past every TTL
  EXPECT_EQ(low.all<CreateOffer>().size(), 1u);
  EXPECT_TRUE(low.all<ClosePc>().empty());
  EXPECT_TRUE(high.all<ClosePc>().empty());
  EXPECT_GE(low.c().stats().dropped_connected, 2u);
  EXPECT_TRUE(low.events.empty());
  EXPECT_TRUE(high.events.empty());
}

TEST(CoordinatorPair, WrongPasswordRaisesOneJoinErrorPerOfferOnTheAnswerer) {
  Bus bus(2);
  Node& low = bus.add(kLow, "right");
  Node& high = bus.add(kHigh, "wrong");
  bus.join(low);
  bus.join(high);
  bus.advance(seconds(30));
  const auto errors = high.all_events<JoinError>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].peer, kLow);
  EXPECT_EQ(errors[0].message, "incorrect room password when decrypting offer");
  EXPECT_TRUE(high.all<CreateAnswer>().empty());
  EXPECT_TRUE(low.all<ApplyAnswer>().empty());
  EXPECT_TRUE(low.events.empty());
  // The same offer came over both relays: reported once.
  EXPECT_EQ(low.sent(Type::Offer).size(), 2u);
  EXPECT_EQ(high.c().stats().offer_decrypt_failures, 1u);
  EXPECT_GE(high.c().stats().dropped_duplicate, 1u);
  // Unanswered, it expires; high's next steady announce makes low try a fresh offer.
  bus.advance(seconds(40));
  EXPECT_EQ(low.all<CreateOffer>().size(), 2u);
  EXPECT_EQ(high.all_events<JoinError>().size(), 2u);
}

TEST(CoordinatorPair, OwnEchoedMessagesAreDropped) {
  Bus bus;
  Node& low = bus.add(kLow);
  bus.join(low);
  EXPECT_EQ(low.c().stats().dropped_own, 1u); // our first announce, echoed back
  EXPECT_TRUE(low.all<CreateOffer>().empty());
}

TEST(CoordinatorPair, PeerLossAndRejoinNegotiatesAgain) {
  Bus bus;
  Node& low = bus.add(kLow);
  Node& high = bus.add(kHigh);
  bus.join(low);
  bus.join(high);
  bus.connect(low, high);
  bus.advance(seconds(70));
  low.c().handle_peer_lost(bus.now, kHigh);
  high.c().handle_peer_lost(bus.now, kLow);
  bus.settle();
  // Both restarted their bursts; low offers again at once.
  ASSERT_EQ(low.all<CreateOffer>().size(), 2u);
  ASSERT_EQ(high.all<CreateAnswer>().size(), 2u);
  EXPECT_EQ(low.all<ApplyAnswer>().size(), 2u);
  EXPECT_NE(low.all<CreateOffer>()[0].pc, low.all<CreateOffer>()[1].pc); // never reused
}

} // namespace
} // namespace posthorn::signal::test
