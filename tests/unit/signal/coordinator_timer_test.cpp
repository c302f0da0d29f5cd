// The coordinator's clocks on virtual time: announce cadence (§4.3), resend window, offer TTL,
// connect timeouts and the transient rule (§4.2).
#include "coordinator_harness.hpp"

namespace posthorn::signal::test {
namespace {

using Type = SignalMessage::Type;

// Drives a Solo node tick by tick and records when each root announce went out per relay.
std::vector<Duration> record_announces(Solo& s, std::size_t relay, TimePoint until) {
  std::vector<Duration> at;
  std::size_t seen = 0;
  const auto collect = [&] {
    for (; seen < s.node.published.size(); ++seen) {
      const auto& p = s.node.published[seen];
      if (p.topic == root() && p.relay == relay) at.push_back(s.now - kT0);
    }
  };
  collect();
  while (auto next = s.node.c().poll_timeout()) {
    if (*next > until) break;
    s.now = *next;
    s.node.c().handle_timeout(s.now);
    s.node.drain(s.now);
    collect();
  }
  return at;
}

TEST(CoordinatorTimers, AnnounceBurstThenSteadyInterval) {
  Solo s(make_config(kLow));
  const auto at = record_announces(s, 0, kT0 + seconds(200));
  EXPECT_EQ(at, (std::vector<Duration>{milliseconds(0), milliseconds(233), milliseconds(766),
                                       milliseconds(2099), milliseconds(62099),
                                       milliseconds(122099), milliseconds(182099)}));
  const auto announces = s.node.sent(Type::Announce, root());
  ASSERT_FALSE(announces.empty());
  EXPECT_EQ(announces[0].first.text, R"({"peerId":")" + kLow + R"("})");
}

TEST(CoordinatorTimers, WarmupNeverExceedsTheSteadyInterval) {
  auto config = make_config(kLow);
  config.timing.steady_announce_interval = milliseconds(500);
  Solo s(config);
  EXPECT_EQ(record_announces(s, 0, kT0 + milliseconds(2000)),
            (std::vector<Duration>{milliseconds(0), milliseconds(233), milliseconds(733),
                                   milliseconds(1233), milliseconds(1733)}));
}

TEST(CoordinatorTimers, EachRelayHasItsOwnBurst) {
  auto config = make_config(kLow, 2);
  Node node(config);
  node.c().start(kT0);
  node.c().handle_relay_ready(kT0, 0);
  node.c().handle_relay_ready(kT0 + milliseconds(100), 1);
  // A second readiness report (the other topic's subscription) during warm-up is not a restart.
  node.c().handle_relay_ready(kT0 + milliseconds(150), 0);
  node.drain(kT0);
  std::vector<std::pair<std::size_t, Duration>> at;
  std::size_t seen = 0;
  TimePoint now = kT0;
  const auto collect = [&] {
    for (; seen < node.published.size(); ++seen)
      at.emplace_back(node.published[seen].relay, now - kT0);
  };
  now = kT0 + milliseconds(150);
  collect();
  while (auto next = node.c().poll_timeout()) {
    if (*next > kT0 + milliseconds(1000)) break;
    now = *next;
    node.c().handle_timeout(now);
    node.drain(now);
    collect();
  }
  // Relay 0 at 0, 233, 766; relay 1 at 100, 333, 866 (the first two were queued before `now`).
  std::vector<std::pair<std::size_t, Duration>> expected{
      {0, milliseconds(150)}, {1, milliseconds(150)}, {0, milliseconds(233)},
      {1, milliseconds(333)}, {0, milliseconds(766)}, {1, milliseconds(866)}};
  EXPECT_EQ(at, expected);
}

TEST(CoordinatorTimers, RelayReconnectRestartsItsBurst) {
  Solo s(make_config(kLow));
  s.advance(seconds(10)); // steady state
  const std::size_t before = s.node.sent(Type::Announce, root()).size();
  s.node.c().handle_relay_lost(s.now, 0);
  EXPECT_FALSE(s.node.c().poll_timeout());
  s.now += seconds(1);
  s.node.c().handle_relay_ready(s.now, 0);
  s.node.drain(s.now);
  EXPECT_EQ(s.node.sent(Type::Announce, root()).size(), before + 1);
  EXPECT_EQ(s.node.c().poll_timeout(), s.now + milliseconds(233));
  // Readiness while steady (a resubscribe without a loss) also restarts.
  s.advance(seconds(10));
  const std::size_t steady = s.node.sent(Type::Announce, root()).size();
  s.node.c().handle_relay_ready(s.now, 0);
  s.node.drain(s.now);
  EXPECT_EQ(s.node.sent(Type::Announce, root()).size(), steady + 1);
}

TEST(CoordinatorTimers, OfferIsResentIdenticallyAfterTheResendWindow) {
  Solo s(make_config(kLow));
  s.node.candidates_per_pc = 2;
  Remote high(kHigh);
  s.inject(root(), high.announce());
  const auto first = s.node.sent(Type::Offer);
  ASSERT_EQ(first.size(), 1u);
  const auto first_candidates = s.node.sent(Type::Candidate);
  ASSERT_EQ(first_candidates.size(), 2u);
  s.advance(milliseconds(4799));
  s.inject(topic_of(kLow), high.announce());
  EXPECT_EQ(s.node.sent(Type::Offer).size(), 1u); // still inside 0.9 × 5333 ms
  s.advance(milliseconds(1));
  s.inject(topic_of(kLow), high.announce());
  const auto offers = s.node.sent(Type::Offer);
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_EQ(offers[1].first.text, offers[0].first.text);
  // The candidates are replayed byte for byte behind it.
  const auto candidates = s.node.sent(Type::Candidate);
  ASSERT_EQ(candidates.size(), 4u);
  EXPECT_EQ(candidates[2].first.text, first_candidates[0].first.text);
  EXPECT_EQ(candidates[3].first.text, first_candidates[1].first.text);
  EXPECT_EQ(s.node.all<CreateOffer>().size(), 1u);
}

TEST(CoordinatorTimers, UnansweredOfferExpiresAfterItsTtl) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  const PcId pc = s.node.all<CreateOffer>().at(0).pc;
  const std::string first_id = s.node.sent(Type::Offer).at(0).second.offer_id.value();
  s.advance(milliseconds(57332));
  EXPECT_TRUE(s.node.all<ClosePc>().empty());
  s.advance(milliseconds(1));
  ASSERT_EQ(s.node.all<ClosePc>().size(), 1u);
  EXPECT_EQ(s.node.all<ClosePc>()[0].pc, pc);
  EXPECT_EQ(s.node.c().stats().offers_expired, 1u);
  EXPECT_TRUE(s.node.events.empty()); // never answered: nothing to report
  // The next announce makes a fresh offer: new PC, new offerId.
  s.inject(root(), high.announce());
  ASSERT_EQ(s.node.all<CreateOffer>().size(), 2u);
  EXPECT_NE(s.node.all<CreateOffer>()[1].pc, pc);
  EXPECT_NE(s.node.sent(Type::Offer).back().second.offer_id.value(), first_id);
}

TEST(CoordinatorTimers, AnsweredOfferMustConnectInTime) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  s.advance(seconds(50)); // the answer comes late in the offer's life: the TTL is replaced
  const std::string id = s.node.sent(Type::Offer).at(0).second.offer_id.value();
  s.inject(topic_of(kLow), high.answer(id, "answer"));
  s.advance(milliseconds(23332));
  EXPECT_TRUE(s.node.all<ClosePc>().empty());
  s.advance(milliseconds(1));
  ASSERT_EQ(s.node.all<ClosePc>().size(), 1u);
  const auto errors = s.node.all_events<JoinError>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].peer, kHigh);
  EXPECT_EQ(errors[0].message, "could not connect to peer " + kHigh +
                                   " after exchanging SDP; configure TURN servers with "
                                   "turnConfig or rtcConfig.iceServers");
  EXPECT_EQ(s.node.c().stats().connect_timeouts, 1u);
  EXPECT_EQ(s.node.c().peer_status(kHigh), PeerStatus::Unknown);
}

TEST(CoordinatorTimers, ConnectTimeoutTextMentionsConfiguredTurn) {
  auto config = make_config(kLow);
  config.has_turn_server = true;
  Solo s(config);
  Remote high(kHigh);
  s.inject(root(), high.announce());
  s.inject(topic_of(kLow),
           high.answer(s.node.sent(Type::Offer).at(0).second.offer_id.value(), "answer"));
  s.advance(milliseconds(23333));
  ASSERT_EQ(s.node.all_events<JoinError>().size(), 1u);
  EXPECT_TRUE(s.node.all_events<JoinError>()[0].message.ends_with(
      "check that your TURN server URLs and credentials are reachable by both peers"));
}

TEST(CoordinatorTimers, AnsweredOfferThatFailsIsReportedOnce) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  const PcId pc = s.node.all<CreateOffer>().at(0).pc;
  s.inject(topic_of(kLow),
           high.answer(s.node.sent(Type::Offer).at(0).second.offer_id.value(), "answer"));
  s.node.c().handle_pc_failed(s.now, pc);
  s.node.c().handle_pc_failed(s.now, pc);
  s.node.drain(s.now);
  EXPECT_EQ(s.node.all_events<JoinError>().size(), 1u);
  s.advance(seconds(30));
  EXPECT_EQ(s.node.all_events<JoinError>().size(), 1u);
  EXPECT_TRUE(s.node.all<ClosePc>().empty()); // the driver already has it closed
}

TEST(CoordinatorTimers, AnsweringSideTimesOutQuietly) {
  Solo s(make_config(kHigh));
  Remote low(kLow);
  s.inject(topic_of(kHigh), low.offer("offer-1", "sdp"));
  const PcId pc = s.node.all<CreateAnswer>().at(0).pc;
  s.advance(milliseconds(23332));
  EXPECT_TRUE(s.node.all<ClosePc>().empty());
  s.advance(milliseconds(1));
  ASSERT_EQ(s.node.all<ClosePc>().size(), 1u);
  EXPECT_EQ(s.node.all<ClosePc>()[0].pc, pc);
  EXPECT_TRUE(s.node.events.empty());
  // The next offer is accepted again.
  s.inject(topic_of(kHigh), low.offer("offer-2", "sdp"));
  EXPECT_EQ(s.node.all<CreateAnswer>().size(), 2u);
}

TEST(CoordinatorTimers, ConnectingCancelsTheTimeouts) {
  Solo s(make_config(kHigh));
  Remote low(kLow);
  s.inject(topic_of(kHigh), low.offer("offer-1", "sdp"));
  s.node.c().handle_connected(s.now, s.node.all<CreateAnswer>().at(0).pc);
  s.advance(seconds(120));
  EXPECT_TRUE(s.node.all<ClosePc>().empty());
  EXPECT_EQ(s.node.c().peer_status(kLow), PeerStatus::Connected);
}

TEST(CoordinatorTimers, PeerLossRestartsTheBurstOnEveryReadyRelay) {
  Solo s(make_config(kLow, 2));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  const std::string id = s.node.sent(Type::Offer).at(0).second.offer_id.value();
  s.inject(topic_of(kLow), high.answer(id, "answer"));
  s.node.c().handle_connected(s.now, s.node.all<CreateOffer>().at(0).pc);
  s.advance(seconds(10));
  const std::size_t before = s.node.sent(Type::Announce, root()).size();
  s.node.c().handle_peer_lost(s.now, kHigh);
  s.node.drain(s.now);
  EXPECT_EQ(s.node.sent(Type::Announce, root()).size(), before + 2); // both relays, now
  EXPECT_EQ(s.node.c().poll_timeout(), s.now + milliseconds(233));
  EXPECT_EQ(s.node.c().peer_status(kHigh), PeerStatus::Unknown);
}

TEST(CoordinatorTimers, FailedConnectedPcIsAPeerLoss) {
  Solo s(make_config(kHigh));
  Remote low(kLow);
  s.inject(topic_of(kHigh), low.offer("offer-1", "sdp"));
  const PcId pc = s.node.all<CreateAnswer>().at(0).pc;
  s.node.c().handle_connected(s.now, pc);
  s.advance(seconds(10));
  s.node.c().handle_pc_failed(s.now, pc);
  s.node.drain(s.now);
  EXPECT_EQ(s.node.c().peer_status(kLow), PeerStatus::Unknown);
  EXPECT_EQ(s.node.c().poll_timeout(), s.now + milliseconds(233));
}

TEST(CoordinatorTimers, TransientConnectionYieldsAfterTheGrace) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  const std::string id = s.node.sent(Type::Offer).at(0).second.offer_id.value();
  s.inject(topic_of(kLow), high.answer(id, "answer"));
  s.node.c().handle_connected(s.now, s.node.all<CreateOffer>().at(0).pc);
  s.inject(root(), high.announce());
  EXPECT_EQ(s.node.c().stats().dropped_connected, 1u); // live: ignored

  s.node.c().handle_connection_health(s.now, kHigh, false);
  s.inject(root(), high.announce()); // grace starts at the first message
  s.now += milliseconds(7532);
  s.inject(root(), high.announce());
  EXPECT_EQ(s.node.c().stats().dropped_connected, 3u);
  EXPECT_EQ(s.node.all<CreateOffer>().size(), 1u);
  s.now += milliseconds(1);
  s.inject(root(), high.announce());
  ASSERT_EQ(s.node.all_events<ConnectionAbandoned>().size(), 1u);
  EXPECT_EQ(s.node.all_events<ConnectionAbandoned>()[0].peer, kHigh);
  EXPECT_EQ(s.node.all<CreateOffer>().size(), 2u); // and the announce was processed
}

TEST(CoordinatorTimers, RecoveredConnectionResetsTheGrace) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  s.inject(topic_of(kLow),
           high.answer(s.node.sent(Type::Offer).at(0).second.offer_id.value(), "answer"));
  s.node.c().handle_connected(s.now, s.node.all<CreateOffer>().at(0).pc);
  s.node.c().handle_connection_health(s.now, kHigh, false);
  s.inject(root(), high.announce());
  s.now += seconds(5);
  s.node.c().handle_connection_health(s.now, kHigh, true);
  s.node.c().handle_connection_health(s.now, kHigh, false);
  s.now += seconds(5);
  s.inject(root(), high.announce()); // a new grace period starts here
  EXPECT_TRUE(s.node.all_events<ConnectionAbandoned>().empty());
}

} // namespace
} // namespace posthorn::signal::test
