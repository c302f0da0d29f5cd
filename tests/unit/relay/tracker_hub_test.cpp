// The relay's WebTorrent tracker on virtual time: announces are answered with counts, offers go
// to random other members of the swarm, answers back to the peer they name; every bound holds.
#include "relay/tracker_hub.hpp"

#include "relay/testing.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace posthorn::relay {
namespace {

namespace tracker = signal::tracker;
using namespace std::chrono_literals;

const Clock::time_point t0{};
const std::string kSwarm = "3a693z5y3d5m16f582u6"; // Trystero's info_hash for rootTopic (spec §5.2)
const std::string kOtherSwarm = "XXXXXXXXXXXXXXXXXXXX";

/// A 20-character peer_id made of one letter.
std::string peer(char c) {
  return std::string(tracker::kIdLength, c);
}

std::vector<tracker::Offer> offers(int n) {
  std::vector<tracker::Offer> out;
  for (int i = 0; i < n; ++i)
    out.push_back({"offer" + std::to_string(i), "sdp" + std::to_string(i)});
  return out;
}

std::string announce(const std::string& peer_id, std::vector<tracker::Offer> o = {},
                     std::optional<std::int64_t> left = {}, std::optional<std::string> event = {},
                     const std::string& info_hash = kSwarm) {
  return tracker::encode(tracker::ClientMessage(tracker::Announce{.info_hash = info_hash,
                                                                  .peer_id = peer_id,
                                                                  .numwant = 3,
                                                                  .left = left,
                                                                  .event = std::move(event),
                                                                  .offers = std::move(o)}));
}

std::string answer(const std::string& from, const std::string& to, const std::string& offer_id,
                   const std::string& info_hash = kSwarm) {
  return tracker::encode(
      tracker::ClientMessage(tracker::SendAnswer{info_hash, from, to, offer_id, "answer-sdp"}));
}

tracker::TrackerMessage decode(const Outgoing& o) {
  return std::get<tracker::TrackerMessage>(tracker::decode_tracker_message(*o.text));
}

/// The Failure a refused message got (it must be the only thing sent).
tracker::Failure failure(const HubOutput& out) {
  EXPECT_EQ(out.sends.size(), 1u);
  return std::get<tracker::Failure>(decode(out.sends.at(0)));
}

/// Who got which forwarded offer.
std::map<ClientId, tracker::PeerOffer> forwarded(const HubOutput& out) {
  std::map<ClientId, tracker::PeerOffer> got;
  for (const auto& send : out.sends) {
    const auto m = decode(send);
    if (const auto* o = std::get_if<tracker::PeerOffer>(&m)) {
      for (ClientId to : send.to)
        EXPECT_TRUE(got.emplace(to, *o).second) << "two offers to client " << to;
    }
  }
  return got;
}

/// A hub with clients 1..n, client c announced in kSwarm as peer('A' + c - 1).
TrackerHub swarm_of(int n, TrackerLimits limits = {}, std::uint64_t seed = 1) {
  TrackerHub hub(limits, seed);
  for (int c = 1; c <= n; ++c) {
    hub.add_client(static_cast<ClientId>(c), t0);
    (void)hub.handle(static_cast<ClientId>(c), announce(peer(static_cast<char>('A' + c - 1))), t0);
  }
  return hub;
}

TEST(TrackerHub, AnAnnounceIsAnsweredWithTheIntervalAndTheSwarmCounts) {
  TrackerHub hub;
  hub.add_client(1, t0);
  hub.add_client(2, t0);
  (void)hub.handle(1, announce(peer('A'), {}, /*left=*/0), t0); // a passive Trystero room
  auto out = hub.handle(2, announce(peer('B')), t0);
  ASSERT_EQ(out.sends.size(), 1u);
  EXPECT_EQ(out.sends[0].to, std::vector<ClientId>{2});
  EXPECT_EQ(decode(out.sends[0]), tracker::TrackerMessage(tracker::AnnounceReply{
                                      .info_hash = kSwarm,
                                      .interval = 120,
                                      .complete = 1,
                                      .incomplete = 1,
                                  }));
  EXPECT_EQ(*out.sends[0].text,
            R"({"complete":1,"incomplete":1,"action":"announce","info_hash":")" + kSwarm +
                R"(","interval":120})");
  const auto s = hub.stats();
  EXPECT_EQ(s.announces, 2u);
  EXPECT_EQ(s.swarms, 1u);
  EXPECT_EQ(s.members, 2u);
}

TEST(TrackerHub, ALeftGivenAsANumericStringCounts) {
  TrackerHub hub;
  hub.add_client(1, t0);
  // bittorrent-tracker applies Number() to "left"; a seeder may send it as text.
  auto out = hub.handle(1,
                        R"({"action":"announce","info_hash":")" + kSwarm + R"(","peer_id":")" +
                            peer('A') + R"(","left":"0"})",
                        t0);
  EXPECT_EQ(std::get<tracker::AnnounceReply>(decode(out.sends.at(0))).complete, 1);
}

TEST(TrackerHub, TheIntervalIsALimit) {
  TrackerHub hub({.interval = 30s});
  hub.add_client(1, t0);
  auto out = hub.handle(1, announce(peer('A')), t0);
  EXPECT_EQ(std::get<tracker::AnnounceReply>(decode(out.sends.at(0))).interval, 30);
}

TEST(TrackerHub, OffersGoToTheOtherMemberAndNeverBackToTheSender) {
  TrackerHub hub(TrackerLimits{}, 7);
  hub.add_client(1, t0);
  hub.add_client(2, t0);
  auto alone = hub.handle(1, announce(peer('A'), offers(3)), t0);
  EXPECT_EQ(alone.sends.size(), 1u); // just the reply: nobody else to offer to
  (void)hub.handle(2, announce(peer('B')), t0);
  for (int round = 0; round < 20; ++round) {
    auto out = hub.handle(1, announce(peer('A'), offers(3)), t0);
    ASSERT_EQ(out.sends.size(), 2u); // the reply, then one offer
    EXPECT_EQ(out.sends[0].to, std::vector<ClientId>{1});
    EXPECT_TRUE(std::holds_alternative<tracker::AnnounceReply>(decode(out.sends[0])));
    const auto got = forwarded(out);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got.begin()->first, 2u);
    EXPECT_EQ(got.begin()->second, (tracker::PeerOffer{kSwarm, peer('A'), "offer0", "sdp0"}));
  }
  EXPECT_EQ(hub.stats().offers_forwarded, 20u);
}

TEST(TrackerHub, ThreeOffersToASwarmOfTwoOthersGoToBothOfThem) {
  auto hub = swarm_of(3);
  auto out = hub.handle(1, announce(peer('A'), offers(3)), t0);
  const auto got = forwarded(out);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got.contains(2) && got.contains(3));
  // Offers are handed out in order: the first to the first target, the second to the second.
  std::set<std::string> ids;
  for (const auto& [to, offer] : got)
    ids.insert(offer.offer_id);
  EXPECT_EQ(ids, (std::set<std::string>{"offer0", "offer1"}));
}

TEST(TrackerHub, OfferTargetsAreRandomDistinctAndReplayableFromTheSeed) {
  auto picks = [](std::uint64_t seed) {
    auto hub = swarm_of(10, {}, seed);
    std::vector<std::vector<ClientId>> rounds;
    for (int round = 0; round < 30; ++round) {
      std::vector<ClientId> to;
      for (const auto& [client, offer] :
           forwarded(hub.handle(1, announce(peer('A'), offers(3)), t0)))
        to.push_back(client);
      EXPECT_EQ(to.size(), 3u);
      EXPECT_FALSE(std::find(to.begin(), to.end(), ClientId{1}) != to.end());
      rounds.push_back(std::move(to));
    }
    return rounds;
  };
  const auto rounds = picks(42);
  EXPECT_EQ(rounds, picks(42));
  std::set<ClientId> reached;
  for (const auto& r : rounds)
    reached.insert(r.begin(), r.end());
  EXPECT_EQ(reached.size(), 9u); // 90 offers over 9 others: everyone gets some
}

TEST(TrackerHub, AnAnswerGoesOnlyToThePeerItNames) {
  auto hub = swarm_of(3);
  auto out = hub.handle(2, answer(peer('B'), peer('A'), "offer0"), t0);
  ASSERT_EQ(out.sends.size(), 1u); // no reply to the answerer
  EXPECT_EQ(out.sends[0].to, std::vector<ClientId>{1});
  EXPECT_EQ(decode(out.sends[0]), tracker::TrackerMessage(tracker::PeerAnswer{
                                      kSwarm, peer('B'), "offer0", "answer-sdp"}));
  EXPECT_EQ(hub.stats().answers_routed, 1u);
}

TEST(TrackerHub, AnAnswerToNobodyIsDroppedAndCountedWithoutAReply) {
  auto hub = swarm_of(2);
  EXPECT_TRUE(hub.handle(2, answer(peer('B'), peer('Z'), "offer0"), t0).sends.empty());
  EXPECT_TRUE(hub.handle(2, answer(peer('B'), peer('B'), "offer0"), t0).sends.empty()); // itself
  // In a swarm nobody else is in: the answerer joins it, as bittorrent-tracker does.
  EXPECT_TRUE(hub.handle(2, answer(peer('B'), peer('A'), "offer0", kOtherSwarm), t0).sends.empty());
  const auto s = hub.stats();
  EXPECT_EQ(s.answers_dropped, 3u);
  EXPECT_EQ(s.answers_routed, 0u);
  EXPECT_EQ(s.refused, 0u);
  EXPECT_EQ(s.swarms, 2u);
}

TEST(TrackerHub, StoppedLeavesTheSwarm) {
  auto hub = swarm_of(2);
  auto out = hub.handle(2, announce(peer('B'), {}, {}, "stopped"), t0);
  EXPECT_EQ(std::get<tracker::AnnounceReply>(decode(out.sends.at(0))).incomplete, 1);
  EXPECT_TRUE(forwarded(hub.handle(1, announce(peer('A'), offers(1)), t0)).empty());
  (void)hub.handle(1, announce(peer('A'), {}, {}, "stopped"), t0);
  EXPECT_EQ(hub.stats().swarms, 0u);
  EXPECT_EQ(hub.stats().members, 0u);
}

TEST(TrackerHub, OnlyTheHolderOfAPeerIdCanStopIt) {
  auto hub = swarm_of(2);
  (void)hub.handle(2, announce(peer('A'), {}, {}, "stopped"), t0);
  EXPECT_EQ(hub.stats().members, 2u);
}

TEST(TrackerHub, ADisconnectedClientLeavesEverySwarm) {
  TrackerHub hub;
  hub.add_client(1, t0);
  hub.add_client(2, t0);
  for (const auto& hash : {kSwarm, kOtherSwarm, std::string(20, 'Y')})
    (void)hub.handle(1, announce(peer('A'), {}, {}, {}, hash), t0);
  (void)hub.handle(2, announce(peer('B')), t0);
  hub.remove_client(1);
  const auto s = hub.stats();
  EXPECT_EQ(s.swarms, 1u);
  EXPECT_EQ(s.members, 1u);
  EXPECT_EQ(s.clients, 1u);
  EXPECT_TRUE(forwarded(hub.handle(2, announce(peer('B'), offers(1)), t0)).empty());
}

TEST(TrackerHub, SilentMembersExpire) {
  auto hub = swarm_of(3); // A, B, C at t0; handle() sweeps at t0, then every 75 s it is given
  (void)hub.handle(1, announce(peer('A')), t0 + 290s); // a sweep finds nobody stale yet
  (void)hub.handle(2, announce(peer('B')), t0 + 290s);
  // At t0+301s C has been silent for the 300 s TTL; no sweep is due, but C is not offered to,
  // leaves on the way and is not counted.
  hub.add_client(4, t0);
  auto out = hub.handle(4, announce(peer('D'), offers(3)), t0 + 301s);
  const auto got = forwarded(out);
  EXPECT_EQ(got.size(), 2u);
  EXPECT_TRUE(got.contains(1) && got.contains(2));
  EXPECT_EQ(std::get<tracker::AnnounceReply>(decode(out.sends.at(0))).incomplete, 3);
  EXPECT_EQ(hub.stats().expired, 1u);
  // A sweep drops the others once they are silent too; the swarm goes with its last member.
  EXPECT_EQ(hub.expire(t0 + 290s + 300s), 2u);
  EXPECT_EQ(hub.expire(t0 + 301s + 300s), 1u);
  EXPECT_EQ(hub.stats().swarms, 0u);
  EXPECT_EQ(hub.stats().expired, 4u);
}

TEST(TrackerHub, HandleSweepsStaleSwarmsByItself) {
  TrackerHub hub;
  hub.add_client(1, t0);
  hub.add_client(2, t0);
  (void)hub.handle(1, announce(peer('A')), t0); // then never again
  (void)hub.handle(2, announce(peer('B'), {}, {}, {}, kOtherSwarm), t0 + 400s);
  const auto s = hub.stats();
  EXPECT_EQ(s.swarms, 1u);
  EXPECT_EQ(s.members, 1u);
  EXPECT_EQ(s.expired, 1u);
}

TEST(TrackerHub, APeerIdHeldByAnotherClientIsRefused) {
  auto hub = swarm_of(2);
  auto out = hub.handle(2, announce(peer('A'), offers(1)), t0);
  EXPECT_EQ(failure(out), (tracker::Failure{"peer_id is in use by another connection", kSwarm}));
  out = hub.handle(2, answer(peer('A'), peer('B'), "offer0"), t0); // nor may it answer as A
  EXPECT_EQ(failure(out).reason, "peer_id is in use by another connection");
  EXPECT_EQ(hub.stats().refused, 2u);
  EXPECT_EQ(hub.stats().members, 2u);
  // Once A's client has been silent for the TTL, the peer_id is free.
  (void)hub.handle(2, announce(peer('B')), t0 + 290s);
  out = hub.handle(2, announce(peer('A')), t0 + 300s);
  EXPECT_TRUE(std::holds_alternative<tracker::AnnounceReply>(decode(out.sends.at(0))));
  EXPECT_EQ(hub.stats().members, 1u); // client 2 holds one peer_id in the swarm: A now, not B
  EXPECT_EQ(hub.stats().expired, 1u);
  EXPECT_EQ(hub.handle(1, answer(peer('Z'), peer('A'), "o"), t0 + 300s).sends.at(0).to,
            std::vector<ClientId>{2});
}

TEST(TrackerHub, AClientHoldsOnePeerIdPerSwarm) {
  auto hub = swarm_of(2);
  (void)hub.handle(1, announce(peer('Q')), t0); // client 1 changes its peer_id
  EXPECT_EQ(hub.stats().members, 2u);
  EXPECT_TRUE(hub.handle(2, answer(peer('B'), peer('A'), "o"), t0).sends.empty());
  EXPECT_EQ(hub.handle(2, answer(peer('B'), peer('Q'), "o"), t0).sends.at(0).to,
            std::vector<ClientId>{1});
}

TEST(TrackerHub, SwarmsPerClientAreBounded) {
  TrackerHub hub({.max_swarms_per_client = 2});
  hub.add_client(1, t0);
  (void)hub.handle(1, announce(peer('A'), {}, {}, {}, kSwarm), t0);
  (void)hub.handle(1, announce(peer('A'), {}, {}, {}, kOtherSwarm), t0);
  const std::string third(20, 'Y');
  auto out = hub.handle(1, announce(peer('A'), {}, {}, {}, third), t0);
  EXPECT_EQ(failure(out), (tracker::Failure{"more than 2 swarms on one connection", third}));
  EXPECT_EQ(hub.stats().swarms, 2u);
  // Re-announcing where it already is costs nothing; a swarm it went silent in frees its slot.
  (void)hub.handle(1, announce(peer('A'), {}, {}, {}, kSwarm), t0 + 290s);
  out = hub.handle(1, announce(peer('A'), {}, {}, {}, third), t0 + 300s);
  EXPECT_TRUE(std::holds_alternative<tracker::AnnounceReply>(decode(out.sends.at(0))));
  EXPECT_EQ(hub.stats().swarms, 2u);
  EXPECT_EQ(hub.stats().refused, 1u);
}

TEST(TrackerHub, AFullSwarmRefusesNewcomersButNotItsMembers) {
  auto hub = swarm_of(2, {.max_members_per_swarm = 2});
  hub.add_client(3, t0);
  auto out = hub.handle(3, announce(peer('C')), t0);
  EXPECT_EQ(failure(out), (tracker::Failure{"swarm is full (2 peers)", kSwarm}));
  EXPECT_EQ(hub.handle(3, answer(peer('C'), peer('A'), "o"), t0).sends.size(), 1u); // refused too
  EXPECT_EQ(hub.stats().answers_routed, 0u);
  out = hub.handle(2, announce(peer('B')), t0);
  EXPECT_TRUE(std::holds_alternative<tracker::AnnounceReply>(decode(out.sends.at(0))));
  EXPECT_EQ(hub.stats().refused, 2u);
}

TEST(TrackerHub, OffersBeyondMaxOffersAreIgnoredNotRefused) {
  auto hub = swarm_of(6, {.max_offers = 2});
  auto out = hub.handle(1, announce(peer('A'), offers(5)), t0);
  EXPECT_EQ(forwarded(out).size(), 2u);
  EXPECT_EQ(hub.stats().refused, 0u);
}

TEST(TrackerHub, OversizedMessagesAndUnknownEventsAreRefused) {
  TrackerHub hub({.max_message_bytes = 300});
  hub.add_client(1, t0);
  auto out = hub.handle(1, announce(peer('A'), {{"o", std::string(300, 's')}}), t0);
  EXPECT_EQ(failure(out), (tracker::Failure{"message larger than 300 bytes", std::nullopt}));
  out = hub.handle(1, announce(peer('A'), {}, {}, "bogus"), t0);
  EXPECT_EQ(failure(out), (tracker::Failure{"invalid event", kSwarm}));
  EXPECT_EQ(hub.stats().refused, 2u);
  EXPECT_EQ(hub.stats().members, 0u);
}

TEST(TrackerHub, MalformedMessagesGetAFailure) {
  TrackerHub hub;
  hub.add_client(1, t0);
  EXPECT_EQ(failure(hub.handle(1, "nope", t0)).reason, "not JSON");
  EXPECT_EQ(
      failure(
          hub.handle(
              1, R"({"action":"announce","info_hash":"short","peer_id":")" + peer('A') + "\"}", t0))
          .reason,
      R"(invalid "info_hash" (not 20 characters))");
  EXPECT_EQ(
      failure(hub.handle(1, R"({"action":"scrape","info_hash":")" + kSwarm + "\"}", t0)).reason,
      "scrape is not supported");
  EXPECT_EQ(hub.stats().refused, 3u);
  EXPECT_EQ(hub.stats().swarms, 0u);
  EXPECT_FALSE(failure(hub.handle(1, "[]", t0)).info_hash); // no info_hash for what did not parse
}

TEST(TrackerHub, AFloodIsRateLimitedThenDisconnected) {
  TrackerHub hub({.rate_per_second = 10, .burst = 3, .max_refusals = 3});
  hub.add_client(1, t0);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(std::holds_alternative<tracker::AnnounceReply>(
        decode(hub.handle(1, announce(peer('A')), t0).sends.at(0))));
  auto out = hub.handle(1, announce(peer('A')), t0);
  EXPECT_EQ(failure(out).reason, "rate-limited: slow down");
  // A tenth of a second buys one more message, and a served message resets the count.
  EXPECT_TRUE(std::holds_alternative<tracker::AnnounceReply>(
      decode(hub.handle(1, announce(peer('A')), t0 + 100ms).sends.at(0))));
  (void)hub.handle(1, announce(peer('A')), t0 + 100ms);
  (void)hub.handle(1, announce(peer('A')), t0 + 100ms);
  out = hub.handle(1, announce(peer('A')), t0 + 100ms);
  EXPECT_TRUE(out.disconnect);
  EXPECT_EQ(failure(out).reason, "rate-limited: slow down; too many refusals, closing");
  EXPECT_EQ(hub.stats().disconnected, 1u);
  EXPECT_EQ(hub.stats().refused, 4u);
}

TEST(TrackerHub, RefusalsOfAnyKindInARowDisconnect) {
  TrackerHub hub({.max_refusals = 2});
  hub.add_client(1, t0);
  EXPECT_FALSE(hub.handle(1, "nope", t0).disconnect);
  EXPECT_FALSE(hub.handle(1, announce(peer('A')), t0).disconnect); // served: the count restarts
  EXPECT_FALSE(hub.handle(1, "nope", t0).disconnect);
  EXPECT_TRUE(hub.handle(1, announce(peer('A'), {}, {}, "bogus"), t0).disconnect);
}

TEST(TrackerHub, MessagesFromUnknownClientsAreIgnored) {
  TrackerHub hub;
  EXPECT_TRUE(hub.handle(9, announce(peer('A')), t0).sends.empty());
  EXPECT_EQ(hub.stats().swarms, 0u);
}

TEST(TrackerHub, IndexesStayConsistentThroughChurn) {
  // Joins, changed peer_ids, stops, answers, disconnects and expiry, in a seeded random order.
  TrackerHub hub({.max_swarms_per_client = 3, .max_members_per_swarm = 5}, 3);
  SeededRng rng(11);
  const std::vector<std::string> swarms = {kSwarm, kOtherSwarm, std::string(20, 'Y'),
                                           std::string(20, 'Z')};
  std::set<ClientId> connected;
  Clock::time_point now = t0;
  for (int step = 0; step < 3000; ++step) {
    now += std::chrono::seconds(rng.uniform(5));
    const auto c = static_cast<ClientId>(1 + rng.uniform(8));
    const auto& swarm = swarms[rng.uniform(swarms.size())];
    const char id = static_cast<char>('A' + rng.uniform(10));
    if (connected.insert(c).second) hub.add_client(c, now);
    switch (rng.uniform(6)) {
    case 0:
      hub.remove_client(c);
      connected.erase(c);
      break;
    case 1: (void)hub.handle(c, announce(peer(id), {}, {}, "stopped", swarm), now); break;
    case 2:
      (void)hub.handle(
          c, answer(peer(id), peer(static_cast<char>('A' + rng.uniform(10))), "o", swarm), now);
      break;
    default: (void)hub.handle(c, announce(peer(id), offers(3), rng.uniform(2), {}, swarm), now);
    }
    ASSERT_EQ(TrackerHubTesting::audit(hub), "") << "after step " << step;
  }
  const auto s = hub.stats();
  EXPECT_GT(s.offers_forwarded, 0u);
  EXPECT_GT(s.answers_routed, 0u);
  EXPECT_GT(s.expired, 0u);
  EXPECT_GT(s.refused, 0u); // peer_ids taken, swarms full
  for (ClientId c : connected)
    hub.remove_client(c);
  EXPECT_EQ(hub.stats().members, 0u);
  EXPECT_EQ(hub.stats().swarms, 0u);
}

TEST(TrackerHub, AReusedClientIdStartsClean) {
  auto hub = swarm_of(2);
  hub.add_client(1, t0); // the server never does this, but nothing may dangle if it did
  EXPECT_EQ(hub.stats().members, 1u);
  hub.remove_client(1);
  hub.remove_client(2);
  EXPECT_EQ(hub.stats().swarms, 0u);
}

} // namespace
} // namespace posthorn::relay
