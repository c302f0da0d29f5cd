// One coordinator fed by a scripted remote peer: the §4.2 message rules case by case.
#include "coordinator_harness.hpp"

namespace posthorn::signal::test {
namespace {

using Type = SignalMessage::Type;

// Our offer to `remote` (we are kLow): returns its offerId.
std::string offer_id_sent_to(const Node& node, const Remote& remote) {
  const auto offers = node.sent(Type::Offer, remote.topic());
  EXPECT_FALSE(offers.empty());
  return offers.empty() ? "" : offers.back().second.offer_id.value_or("");
}

TEST(CoordinatorMessages, AnnounceFromAHigherIdMakesOneOffer) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  ASSERT_EQ(s.node.all<CreateOffer>().size(), 1u);
  const auto offers = s.node.sent(Type::Offer, high.topic());
  ASSERT_EQ(offers.size(), 1u);
  const SignalMessage& m = offers[0].second;
  EXPECT_EQ(m.peer_id, kLow);
  ASSERT_TRUE(m.offer_id);
  EXPECT_EQ(m.offer_id->size(), 12u);
  // JS key order and the SDP under the room key.
  EXPECT_TRUE(offers[0].first.text.starts_with(R"({"peerId":")" + kLow + R"(","offerId":")"));
  EXPECT_EQ(decrypt(high.key, m.payload).value(),
            s.node.pcs.at(s.node.all<CreateOffer>()[0].pc).local_sdp);
  // The offerer's candidate follows, in the offerer's key order.
  const auto candidates = s.node.sent(Type::Candidate, high.topic());
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_FALSE(candidates[0].second.answerer_key_order);
  EXPECT_EQ(candidates[0].second.offer_id, m.offer_id);
  EXPECT_EQ(parse_candidate_json(decrypt(high.key, candidates[0].second.payload).value()).value(),
            make_candidate(kLow + "/1", 1));
  // A repeat within the resend window changes nothing.
  s.inject(root(), high.announce());
  EXPECT_EQ(s.node.sent(Type::Offer).size(), 1u);
  EXPECT_EQ(s.node.c().stats().dropped_duplicate, 1u);
}

TEST(CoordinatorMessages, AnnounceFromALowerIdIsAnsweredWithAPoke) {
  Solo s(make_config(kHigh));
  Remote low(kLow);
  s.inject(root(), low.announce());
  EXPECT_TRUE(s.node.all<CreateOffer>().empty());
  const auto pokes = s.node.sent(Type::Announce, low.topic());
  ASSERT_EQ(pokes.size(), 1u);
  EXPECT_EQ(pokes[0].first.text, R"({"peerId":")" + kHigh + R"("})");
  EXPECT_EQ(s.node.c().tracked_peers(), 0u); // a poke keeps no state
}

TEST(CoordinatorMessages, OfferIsAnsweredOnItsRelayWithItsOfferId) {
  auto config = make_config(kHigh, 3);
  Solo s(config);
  Remote low(kLow);
  s.inject(topic_of(kHigh), low.offer("offer-id-001", "v=0 remote offer"), 2);
  const auto answers = s.node.all<CreateAnswer>();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].offer_sdp, "v=0 remote offer");
  const auto sent = s.node.sent(Type::Answer, low.topic());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first.relay, 2u);
  EXPECT_EQ(sent[0].second.offer_id, "offer-id-001");
  EXPECT_TRUE(sent[0].first.text.starts_with(R"({"peerId":")" + kHigh + R"(","answer":")"));
  // Answerer candidates: same relay, offerId after the candidate.
  const auto candidates = s.node.sent(Type::Candidate, low.topic());
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_EQ(candidates[0].first.relay, 2u);
  EXPECT_TRUE(candidates[0].second.answerer_key_order);
  EXPECT_EQ(s.node.c().peer_status(kLow), PeerStatus::Answering);
}

TEST(CoordinatorMessages, AnswerWithoutOfferIdIsAcceptedAndMirrored) {
  Solo s(make_config(kHigh));
  Remote low(kLow);
  s.inject(topic_of(kHigh),
           to_json(SignalMessage{
               .peer_id = kLow, .type = Type::Offer, .payload = encrypt(low.key, "sdp", low.rng)}));
  const auto sent = s.node.sent(Type::Answer);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_FALSE(sent[0].second.offer_id); // left out, as the offer had none
}

TEST(CoordinatorMessages, AnswerLocalCandidatesWaitForTheAnswer) {
  Solo s(make_config(kHigh));
  s.node.auto_describe = false;
  s.node.published.clear(); // our first announce
  Remote low(kLow);
  s.inject(topic_of(kHigh), low.offer("o1", "sdp"));
  const PcId pc = s.node.all<CreateAnswer>().at(0).pc;
  s.node.c().handle_local_candidate(s.now, pc, make_candidate("early", 1));
  s.node.drain(s.now);
  EXPECT_TRUE(s.node.published.empty());
  s.node.c().handle_local_description(s.now, pc, "answer sdp");
  s.node.drain(s.now);
  ASSERT_EQ(s.node.published.size(), 2u);
  EXPECT_EQ(parse_signal_message(s.node.published[0].text)->type, Type::Answer);
  EXPECT_EQ(parse_signal_message(s.node.published[1].text)->type, Type::Candidate);
  // A second description for the same PC is ignored.
  s.node.c().handle_local_description(s.now, pc, "answer sdp again");
  s.node.drain(s.now);
  EXPECT_EQ(s.node.published.size(), 2u);
}

TEST(CoordinatorMessages, OfferWaitsForItsDescriptionThenGoesToEveryAskingRelay) {
  Solo s(make_config(kLow, 2));
  s.node.auto_describe = false;
  s.node.published.clear(); // our first announces
  Remote high(kHigh);
  s.inject(root(), high.announce(), 0);
  s.inject(topic_of(kLow), high.announce(), 1); // a poke on the other relay
  s.inject(root(), high.announce(), 1);         // duplicate while waiting
  ASSERT_EQ(s.node.all<CreateOffer>().size(), 1u);
  EXPECT_TRUE(s.node.published.empty());
  const PcId pc = s.node.all<CreateOffer>()[0].pc;
  s.node.c().handle_local_candidate(s.now, pc, make_candidate("c", 1)); // before the SDP
  s.node.c().handle_local_description(s.now, pc, "offer sdp");
  s.node.drain(s.now);
  const auto offers = s.node.sent(Type::Offer);
  ASSERT_EQ(offers.size(), 2u);
  EXPECT_NE(offers[0].first.relay, offers[1].first.relay);
  EXPECT_EQ(offers[0].first.text, offers[1].first.text);
  EXPECT_EQ(s.node.sent(Type::Candidate).size(), 2u); // replayed behind each offer
}

TEST(CoordinatorMessages, GlareLowerIdKeepsItsOffer) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  ASSERT_EQ(s.node.all<CreateOffer>().size(), 1u);
  s.inject(topic_of(kLow), high.offer("their-offer1", "their sdp"));
  EXPECT_TRUE(s.node.all<CreateAnswer>().empty());
  EXPECT_TRUE(s.node.all<ClosePc>().empty());
  EXPECT_EQ(s.node.c().stats().dropped_glare, 1u);
  EXPECT_EQ(s.node.c().peer_status(kHigh), PeerStatus::Offering);
}

TEST(CoordinatorMessages, HigherIdOfferIsAnsweredWhenWeAreNotOffering) {
  // JS answers any offer unless it holds one of its own (§4.2 step 2).
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(topic_of(kLow), high.offer("their-offer1", "their sdp"));
  EXPECT_EQ(s.node.all<CreateAnswer>().size(), 1u);
}

TEST(CoordinatorMessages, AnswerIsAppliedOnceAndEarlyCandidatesAfterIt) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  const std::string id = offer_id_sent_to(s.node, high);
  const PcId pc = s.node.all<CreateOffer>().at(0).pc;
  // The answerer's candidate beats its answer (another relay was faster).
  s.inject(topic_of(kLow), high.candidate(id, make_candidate("h", 1), true));
  EXPECT_TRUE(s.node.all<AddRemoteCandidate>().empty());
  s.inject(topic_of(kLow), high.answer(id, "answer sdp"));
  s.inject(topic_of(kLow), high.answer(id, "answer sdp")); // duplicate
  ASSERT_EQ(s.node.all<ApplyAnswer>().size(), 1u);
  EXPECT_EQ(s.node.all<ApplyAnswer>()[0].answer_sdp, "answer sdp");
  // Command order: the answer, then the candidate.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < s.node.commands.size(); ++i) {
    if (std::holds_alternative<ApplyAnswer>(s.node.commands[i])) order.push_back(0);
    if (std::holds_alternative<AddRemoteCandidate>(s.node.commands[i])) order.push_back(1);
  }
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(s.node.pcs.at(pc).remote_candidates.size(), 1u);
  // Later candidates go straight to the PC; duplicates are dropped.
  s.inject(topic_of(kLow), high.candidate(id, make_candidate("h", 2), true));
  s.inject(topic_of(kLow), high.candidate(id, make_candidate("h", 2), true));
  EXPECT_EQ(s.node.pcs.at(pc).remote_candidates.size(), 2u);
  EXPECT_EQ(s.node.c().stats().dropped_candidate_duplicate, 1u);
}

TEST(CoordinatorMessages, StaleAnswersAreDropped) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(topic_of(kLow), high.answer("nothing-asked", "sdp")); // no offer at all
  s.inject(root(), high.announce());
  s.inject(topic_of(kLow), high.answer("other-offer1", "sdp")); // another offerId
  EXPECT_TRUE(s.node.all<ApplyAnswer>().empty());
  EXPECT_EQ(s.node.c().stats().dropped_stale_answer, 2u);
  EXPECT_TRUE(s.node.events.empty());
}

TEST(CoordinatorMessages, AnswerThatDoesNotDecryptIsAJoinErrorOnce) {
  Solo s(make_config(kLow, 1, "ours"));
  Remote high(kHigh, "theirs");
  s.inject(root(), high.announce());
  const std::string id = offer_id_sent_to(s.node, high);
  const std::string bad = high.answer(id, "sdp");
  s.inject(topic_of(kLow), bad);
  s.inject(topic_of(kLow), bad);
  const auto errors = s.node.all_events<JoinError>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "incorrect room password when decrypting answer");
  EXPECT_TRUE(s.node.all<ApplyAnswer>().empty());
  EXPECT_EQ(s.node.c().peer_status(kHigh), PeerStatus::Offering); // a good answer still counts
}

TEST(CoordinatorMessages, CandidatesBeforeTheOfferAreBufferedThenApplied) {
  Solo s(make_config(kHigh));
  Remote low(kLow);
  s.inject(topic_of(kHigh), low.candidate("offer-id-777", make_candidate("l", 1)));
  s.inject(topic_of(kHigh), low.candidate("offer-id-777", make_candidate("l", 1))); // dup
  s.inject(topic_of(kHigh), low.candidate(std::nullopt, make_candidate("legacy", 2)));
  s.inject(topic_of(kHigh), low.candidate("another-id12", make_candidate("x", 3)));
  EXPECT_TRUE(s.node.all<AddRemoteCandidate>().empty());
  EXPECT_EQ(s.node.c().stats().candidates_buffered, 3u);
  s.inject(topic_of(kHigh), low.offer("offer-id-777", "sdp"));
  const PcId pc = s.node.all<CreateAnswer>().at(0).pc;
  // CreateAnswer first, then the matching offerId's candidates, then the ones without an id.
  std::size_t create_at = 0, first_add_at = 0;
  for (std::size_t i = 0; i < s.node.commands.size(); ++i) {
    if (std::holds_alternative<CreateAnswer>(s.node.commands[i])) create_at = i;
    if (!first_add_at && std::holds_alternative<AddRemoteCandidate>(s.node.commands[i]))
      first_add_at = i;
  }
  EXPECT_LT(create_at, first_add_at);
  const auto& applied = s.node.pcs.at(pc).remote_candidates;
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[0], make_candidate("l", 1));
  EXPECT_EQ(applied[1], make_candidate("legacy", 2));
  // The other offerId's candidate stays buffered until it expires.
  s.advance(milliseconds(57333));
  EXPECT_EQ(s.node.c().stats().dropped_candidate_expired, 1u);
}

TEST(CoordinatorMessages, CandidateForADifferentOfferWaitsInsteadOfReachingTheAnsweringPc) {
  Solo s(make_config(kHigh));
  Remote low(kLow);
  s.inject(topic_of(kHigh), low.offer("first-offer1", "sdp"));
  s.inject(topic_of(kHigh), low.candidate("newer-offer1", make_candidate("n", 1)));
  EXPECT_TRUE(s.node.all<AddRemoteCandidate>().empty());
  EXPECT_EQ(s.node.c().stats().candidates_buffered, 1u);
}

TEST(CoordinatorMessages, BadCandidatesAreCountedDrops) {
  Solo s(make_config(kHigh));
  Remote low(kLow);
  Remote stranger(kLow, "other password");
  s.inject(topic_of(kHigh), low.offer("o1", "sdp"));
  s.inject(topic_of(kHigh), stranger.candidate("o1", make_candidate("s", 1)));
  s.inject(topic_of(kHigh), to_json(SignalMessage{.peer_id = kLow,
                                                  .offer_id = "o1",
                                                  .type = Type::Candidate,
                                                  .payload = "not$ciphertext"}));
  s.inject(topic_of(kHigh), to_json(SignalMessage{.peer_id = kLow,
                                                  .offer_id = "o1",
                                                  .type = Type::Candidate,
                                                  .payload = encrypt(low.key, "[1,2]", low.rng)}));
  EXPECT_TRUE(s.node.all<AddRemoteCandidate>().empty());
  EXPECT_EQ(s.node.c().stats().dropped_candidate_decrypt, 2u);
  EXPECT_EQ(s.node.c().stats().dropped_candidate_malformed, 1u);
  EXPECT_TRUE(s.node.events.empty()); // silent, as in JS
}

TEST(CoordinatorMessages, GarbageIsCountedNeverFatal) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  for (std::string_view junk : {"", "null", "[]", "{", R"({"peerId":""})", R"({"offer":1})",
                                R"({"peerId":"x","candidate":""})", "\xff\xfe"})
    s.inject(root(), junk);
  EXPECT_EQ(s.node.c().stats().dropped_malformed, 8u);
  s.inject("some-other-topic", high.announce());
  EXPECT_EQ(s.node.c().stats().dropped_foreign_topic, 1u);
  s.inject(root(), R"({"peerId":")" + kLow + R"("})");
  EXPECT_EQ(s.node.c().stats().dropped_own, 1u);
  // An offer whose ciphertext was damaged in transit: a JoinError, like a wrong password.
  auto damaged = parse_signal_message(high.offer("o1", "sdp")).value();
  damaged.payload[damaged.payload.size() - 6] ^= 0x01;
  s.inject(topic_of(kLow), to_json(damaged));
  EXPECT_EQ(s.node.all_events<JoinError>().size(), 1u);
  EXPECT_TRUE(s.node.all<CreateAnswer>().empty());
  EXPECT_TRUE(s.node.all<CreateOffer>().empty());
  EXPECT_EQ(s.node.c().tracked_peers(), 1u); // only the rejected offer is remembered
}

TEST(CoordinatorMessages, SharedConnectionIsAttachedNotNegotiated) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  bool connected_elsewhere = true;
  s.node.c().set_shared_connection_lookup(
      [&](const PeerId& peer) { return peer == kHigh && connected_elsewhere; });
  s.inject(root(), high.announce());
  ASSERT_EQ(s.node.all<AttachShared>().size(), 1u);
  EXPECT_EQ(s.node.all<AttachShared>()[0].peer, kHigh);
  EXPECT_TRUE(s.node.all<CreateOffer>().empty());
  EXPECT_EQ(s.node.c().peer_status(kHigh), PeerStatus::Connected);
  s.inject(topic_of(kLow), high.offer("o1", "sdp"));
  EXPECT_EQ(s.node.all<AttachShared>().size(), 1u);
  EXPECT_TRUE(s.node.all<CreateAnswer>().empty());
  // The shared connection drops: the peer is forgotten and found again.
  connected_elsewhere = false;
  s.node.c().handle_peer_lost(s.now, kHigh);
  s.node.drain(s.now);
  EXPECT_EQ(s.node.c().peer_status(kHigh), PeerStatus::Unknown);
  s.inject(root(), high.announce());
  EXPECT_EQ(s.node.all<CreateOffer>().size(), 1u);
}

TEST(CoordinatorMessages, SharedConnectionSupersedesANegotiationInProgress) {
  Solo s(make_config(kLow));
  Remote high(kHigh);
  s.inject(root(), high.announce());
  const PcId pc = s.node.all<CreateOffer>().at(0).pc;
  s.node.c().set_shared_connection_lookup([](const PeerId&) { return true; });
  s.inject(root(), high.announce());
  ASSERT_EQ(s.node.all<ClosePc>().size(), 1u);
  EXPECT_EQ(s.node.all<ClosePc>()[0].pc, pc);
  EXPECT_EQ(s.node.all<AttachShared>().size(), 1u);
}

TEST(CoordinatorMessages, PeerLimitEvictsIdleEntriesThenDrops) {
  auto config = make_config(kHigh);
  config.limits.max_peers = 2;
  Solo s(config);
  Remote a("0a000000000000000000"), b("0b000000000000000000"), c("0c000000000000000000");
  s.inject(topic_of(kHigh), a.offer("o1", "sdp"));
  s.inject(topic_of(kHigh), b.offer("o1", "sdp"));
  s.inject(topic_of(kHigh), c.offer("o1", "sdp"));
  EXPECT_EQ(s.node.all<CreateAnswer>().size(), 2u);
  EXPECT_EQ(s.node.c().stats().dropped_peer_limit, 1u);
  EXPECT_EQ(s.node.c().tracked_peers(), 2u);
}

TEST(CoordinatorMessages, CandidateBuffersAreBounded) {
  auto config = make_config(kHigh);
  config.limits.max_buffered_candidates_per_offer = 3;
  config.limits.max_buffered_offers_per_peer = 2;
  Solo s(config);
  Remote low(kLow);
  for (int i = 0; i < 5; ++i)
    s.inject(topic_of(kHigh), low.candidate("first-offer1", make_candidate("f", i)));
  EXPECT_EQ(s.node.c().stats().candidates_buffered, 3u);
  EXPECT_EQ(s.node.c().stats().dropped_candidate_overflow, 2u);
  s.now += milliseconds(1);
  s.inject(topic_of(kHigh), low.candidate("second-offer", make_candidate("s", 1)));
  s.now += milliseconds(1);
  s.inject(topic_of(kHigh), low.candidate("third-offer1", make_candidate("t", 1)));
  // The oldest buffer (three candidates) was evicted for the third offerId.
  EXPECT_EQ(s.node.c().stats().dropped_candidate_overflow, 5u);
  s.inject(topic_of(kHigh), low.offer("first-offer1", "sdp"));
  EXPECT_TRUE(s.node.all<AddRemoteCandidate>().empty());
}

TEST(CoordinatorMessages, LateCallbacksForUnknownPcsAreIgnored) {
  Solo s(make_config(kLow));
  s.node.c().handle_local_description(s.now, 42, "sdp");
  s.node.c().handle_local_candidate(s.now, 42, make_candidate("x", 1));
  s.node.c().handle_connected(s.now, 42);
  s.node.c().handle_pc_failed(s.now, 42);
  s.node.c().handle_peer_lost(s.now, kHigh);
  s.node.c().handle_connection_health(s.now, kHigh, false);
  s.node.drain(s.now);
  EXPECT_EQ(s.node.commands.size(), 3u); // Subscribe ×2 and the first announce
  EXPECT_TRUE(s.node.events.empty());
}

TEST(CoordinatorMessages, LeaveClosesPendingPcsAndUnsubscribes) {
  Solo s(make_config(kLow));
  Remote high(kHigh), other("zz000000000000000000");
  s.inject(root(), high.announce());
  s.inject(topic_of(kLow), other.offer("o1", "sdp")); // answering (higher id offering to us)
  s.node.commands.clear();
  s.node.c().leave(s.now);
  s.node.drain(s.now);
  EXPECT_EQ(s.node.all<ClosePc>().size(), 2u);
  ASSERT_EQ(s.node.all<Unsubscribe>().size(), 2u);
  EXPECT_TRUE(s.node.subscriptions.empty());
  EXPECT_TRUE(s.node.all<Publish>().empty());
  EXPECT_FALSE(s.node.c().poll_timeout());
  s.inject(root(), high.announce()); // ignored after leaving
  EXPECT_EQ(s.node.commands.size(), 4u);
}

} // namespace
} // namespace posthorn::signal::test
