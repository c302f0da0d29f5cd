// TorrentCoordinator (signal layer) against the real tracker logic of `posthorn relay`
// (relay::TrackerHub; hence this file lives with the relay tests), one
// hub per tracker index, in virtual time. A fake driver per node "creates" PCs and reports their
// descriptions at once (or when the test says, to model ICE gathering).
#include "core/overloaded.hpp"
#include "core/rng.hpp"
#include "relay/tracker_hub.hpp"
#include "signal/signal_cipher.hpp"
#include "signal/torrent_coordinator.hpp"
#include "signal/tracker_codec.hpp"
#include "signal/trystero_ids.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>

namespace posthorn::signal::test {
namespace {

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);
const std::string kApp = "posthorn-test";
const std::string kRoom = "lobby";
// Byte order decides who answers: a node answers only lower ids while it holds offers.
const PeerId kLow = "A0000000000000000000";
const PeerId kHigh = "z0000000000000000000";
const PeerId kMid = "M0000000000000000000";

struct FakePc {
  PeerId peer; ///< empty for a pool offer until ApplyAnswer names it
  bool offerer = false;
  std::string remote_sdp;
  bool closed = false;
  std::string close_reason;
};

class Node {
public:
  Node(TorrentConfig config, std::uint64_t seed)
      : id(config.self_id), rng_(seed), c_(std::move(config), rng_) {}

  TorrentCoordinator& c() { return c_; }

  /// Runs queued commands like RoomImpl would; returns the new publishes.
  std::vector<Publish> drain(TimePoint now) {
    std::vector<Publish> out;
    while (auto command = c_.poll_command()) {
      std::visit(overloaded{
                     [&](Subscribe& s) { subscriptions.insert(s.topic); },
                     [&](Unsubscribe& s) { subscriptions.erase(s.topic); },
                     [&](Publish& p) {
                       published.push_back(p);
                       out.push_back(p);
                     },
                     [&](CreateOffer& o) {
                       EXPECT_TRUE(o.complete_description) << "torrent is non-trickle";
                       EXPECT_TRUE(o.peer.empty()) << "pool offers are for nobody yet";
                       pcs[o.pc] = FakePc{.offerer = true};
                       gathering.push_back(o.pc);
                     },
                     [&](CreateAnswer& a) {
                       EXPECT_TRUE(a.complete_description);
                       pcs[a.pc] = FakePc{.peer = a.peer, .remote_sdp = a.offer_sdp};
                       gathering.push_back(a.pc);
                     },
                     [&](ApplyAnswer& a) {
                       auto& pc = pcs.at(a.pc);
                       pc.remote_sdp = a.answer_sdp;
                       pc.peer = a.peer;
                     },
                     [&](AddRemoteCandidate&) { ADD_FAILURE() << "no candidates on torrent"; },
                     [&](ClosePc& c) {
                       pcs.at(c.pc).closed = true;
                       pcs.at(c.pc).close_reason = c.reason;
                     },
                     [&](AttachShared& a) { attached.push_back(a.peer); },
                 },
                 *command);
      if (auto_gather) finish_gathering(now);
    }
    while (auto event = c_.poll_event())
      events.push_back(*event);
    return out;
  }

  /// ICE gathering completes for every PC waiting on it.
  void finish_gathering(TimePoint now) {
    for (PcId pc : std::exchange(gathering, {}))
      if (!pcs.at(pc).closed)
        c_.handle_local_description(now, pc, "v=0 sdp of " + id + " pc " + std::to_string(pc));
  }

  std::vector<PcId> open_pcs_for(const PeerId& peer) const {
    std::vector<PcId> out;
    for (const auto& [pc, fake] : pcs)
      if (fake.peer == peer && !fake.closed) out.push_back(pc);
    return out;
  }
  std::vector<tracker::Announce> announces() const {
    std::vector<tracker::Announce> out;
    for (const auto& p : published) {
      auto m = tracker::decode_client_message(p.text);
      if (auto* a = std::get_if<tracker::ClientMessage>(&m))
        if (auto* announce = std::get_if<tracker::Announce>(a)) out.push_back(*announce);
    }
    return out;
  }
  template <class T> std::vector<T> all_events() const {
    std::vector<T> out;
    for (const auto& e : events)
      if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
    return out;
  }

  const PeerId id;
  bool auto_gather = true;
  std::vector<PcId> gathering;
  std::vector<Publish> published;
  std::vector<Event> events;
  std::vector<PeerId> attached;
  std::map<PcId, FakePc> pcs;
  std::set<std::string> subscriptions;

private:
  SeededRng rng_;
  TorrentCoordinator c_;
};

/// Nodes and one TrackerHub per tracker index; client id = node index + 1.
class Swarm {
public:
  explicit Swarm(std::size_t trackers = 1, relay::TrackerLimits limits = {}) {
    for (std::size_t i = 0; i < trackers; ++i)
      hubs_.push_back(std::make_unique<relay::TrackerHub>(limits, 7 + i));
  }

  Node& add(const PeerId& id, std::string password = "", bool passive = false) {
    TorrentConfig config{.app_id = kApp,
                         .room_id = kRoom,
                         .password = std::move(password),
                         .self_id = id,
                         .relay_count = hubs_.size(),
                         .passive = passive};
    nodes_.push_back(std::make_unique<Node>(std::move(config), nodes_.size() + 1));
    return *nodes_.back();
  }

  /// start() and every tracker connection open: a node joining the room. Its first announce goes
  /// out at once; the others' offers reach it with their next announces, so tests advance time.
  void join(Node& node) {
    node.c().start(now);
    for (std::size_t t = 0; t < hubs_.size(); ++t) {
      hubs_[t]->add_client(client(node), now);
      node.c().handle_relay_ready(now, t);
    }
    settle();
  }
  /// Joins both, then lets the warm-up bursts run (the first pair of announces crosses).
  void join_and_meet(Node& a, Node& b) {
    join(a);
    join(b);
    advance(std::chrono::seconds(3));
  }

  /// Delivers every publish through the hubs until nothing moves.
  void settle() {
    for (int rounds = 0;; ++rounds) {
      ASSERT_LT(rounds, 10000) << "signaling never settles";
      bool moved = false;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        for (auto& p : nodes_[i]->drain(now)) {
          moved = true;
          auto out = hubs_.at(p.relay)->handle(i + 1, p.text, now);
          for (const auto& send : out.sends)
            for (relay::ClientId to : send.to)
              deliver(*nodes_.at(to - 1), p.relay, *send.text);
        }
      }
      if (!moved) return;
    }
  }

  /// Fires every timer due up to `t`, in order.
  void advance_to(TimePoint t) {
    for (int steps = 0;; ++steps) {
      ASSERT_LT(steps, 100000) << "timers never quiesce";
      std::optional<TimePoint> next;
      for (auto& n : nodes_)
        if (auto d = n->c().poll_timeout(); d && *d <= t && (!next || *d < *next)) next = d;
      if (!next) break;
      now = std::max(now, *next);
      for (auto& n : nodes_)
        if (auto d = n->c().poll_timeout(); d && *d <= now) n->c().handle_timeout(now);
      settle();
    }
    now = t;
  }
  void advance(Duration d) { advance_to(now + d); }

  /// Both ends' data channels open.
  void connect(Node& a, Node& b) {
    const auto pa = a.open_pcs_for(b.id);
    const auto pb = b.open_pcs_for(a.id);
    ASSERT_EQ(pa.size(), 1u);
    ASSERT_EQ(pb.size(), 1u);
    a.c().handle_connected(now, pa[0]);
    b.c().handle_connected(now, pb[0]);
    settle();
  }

  /// What the strategy does with a tracker message: route it to the room by its info_hash.
  void deliver(Node& node, std::size_t tracker, const std::string& text) {
    auto decoded = tracker::decode_tracker_message(text);
    auto* message = std::get_if<tracker::TrackerMessage>(&decoded);
    ASSERT_NE(message, nullptr) << text;
    std::string topic = std::visit(
        [](const auto& m) -> std::string {
          if constexpr (std::is_same_v<std::decay_t<decltype(m)>, tracker::Failure>)
            return m.info_hash.value_or("");
          else
            return m.info_hash;
        },
        *message);
    if (node.subscriptions.contains(topic)) node.c().handle_message(now, tracker, topic, text);
  }

  relay::TrackerHub& hub(std::size_t i = 0) { return *hubs_.at(i); }
  relay::ClientId client(const Node& node) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].get() == &node) return i + 1;
    ADD_FAILURE() << "unknown node";
    return 0;
  }

  TimePoint now = kT0;

private:
  std::vector<std::unique_ptr<relay::TrackerHub>> hubs_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

// ---- The handshake ----

TEST(TorrentCoordinator, TwoPeersMeetThroughTheTrackerAndOnlyTheHigherIdAnswers) {
  Swarm swarm;
  Node& low = swarm.add(kLow);
  Node& high = swarm.add(kHigh);
  swarm.join_and_meet(low, high);

  // The low id's offer reached the high id, which answered it; the high id's offers reached the
  // low id, which ignored them (it holds offers and the sender's id is higher).
  EXPECT_EQ(high.c().stats().answers_sent, 1u);
  EXPECT_EQ(low.c().stats().answers_sent, 0u);
  EXPECT_GE(low.c().stats().dropped_glare, 1u);
  ASSERT_EQ(low.open_pcs_for(kHigh).size(), 1u);
  EXPECT_TRUE(low.pcs.at(low.open_pcs_for(kHigh)[0]).offerer);
  EXPECT_NE(low.pcs.at(low.open_pcs_for(kHigh)[0]).remote_sdp.find("sdp of " + kHigh),
            std::string::npos);
  ASSERT_EQ(high.open_pcs_for(kLow).size(), 1u);
  EXPECT_NE(high.pcs.at(high.open_pcs_for(kLow)[0]).remote_sdp.find("sdp of " + kLow),
            std::string::npos);

  swarm.connect(low, high);
  EXPECT_TRUE(low.c().is_connected(kHigh));
  EXPECT_TRUE(high.c().is_connected(kLow));
  // The claimed offer was replaced: the pool is full again for whoever comes next.
  EXPECT_EQ(low.c().pool_offers(), 3u);

  // Later announces keep forwarding offers between them; the connection ignores them.
  swarm.advance(std::chrono::seconds(30));
  EXPECT_EQ(high.c().stats().answers_sent, 1u);
  EXPECT_GE(high.c().stats().dropped_connected, 1u);
}

TEST(TorrentCoordinator, ALowerIdAnnouncesAtOnceForAHigherIdThatArrivesLater) {
  Swarm swarm;
  Node& low = swarm.add(kLow);
  swarm.join(low);
  swarm.advance(std::chrono::seconds(10)); // past the warm-up: the next announce is 110 s away
  Node& high = swarm.add(kHigh);
  swarm.join(high);
  // high's offer reached low, which does not answer a higher id, but announced at once so that
  // one of its own offers reached high (a Trystero peer would wait for its next interval).
  EXPECT_EQ(low.c().stats().nudges, 1u);
  EXPECT_EQ(low.open_pcs_for(kHigh).size(), 1u);
  EXPECT_EQ(high.open_pcs_for(kLow).size(), 1u);
  swarm.connect(low, high);
}

TEST(TorrentCoordinator, AnnouncesCarryThePoolWithStableOfferIds) {
  Swarm swarm;
  Node& node = swarm.add(kMid);
  swarm.join(node);
  swarm.advance(std::chrono::seconds(3)); // the warm-up burst
  const auto announces = node.announces();
  ASSERT_EQ(announces.size(), 4u); // at 0, 0.233, 0.766 and 2.099 s (§4.3)
  for (const auto& a : announces) {
    EXPECT_EQ(a.info_hash, node.c().info_hash());
    EXPECT_EQ(a.peer_id, kMid);
    EXPECT_EQ(a.numwant, 3u);
    ASSERT_EQ(a.offers.size(), 3u);
    EXPECT_EQ(a.offers, announces[0].offers) << "the same ids and ciphertexts every time";
  }
  EXPECT_EQ(node.c().info_hash(), torrent_info_hash(root_topic(kApp, kRoom)));
}

TEST(TorrentCoordinator, AnAnnounceWaitsForIceGatheringOfItsOffers) {
  Swarm swarm;
  Node& node = swarm.add(kMid);
  node.auto_gather = false;
  swarm.join(node);
  EXPECT_TRUE(node.announces().empty()) << "no offer has its complete SDP yet";
  node.finish_gathering(swarm.now);
  swarm.settle();
  ASSERT_EQ(node.announces().size(), 1u);
  EXPECT_EQ(node.announces()[0].offers.size(), 3u);
}

TEST(TorrentCoordinator, TheTrackersIntervalSetsTheCadenceWithinTenToOneHundredTwentySeconds) {
  relay::TrackerLimits limits;
  limits.interval = std::chrono::seconds(30);
  Swarm swarm(1, limits);
  Node& node = swarm.add(kMid);
  swarm.join(node);
  swarm.advance(std::chrono::seconds(3));
  const auto after_warmup = node.announces().size();
  swarm.advance(std::chrono::seconds(29));
  EXPECT_EQ(node.announces().size(), after_warmup);
  swarm.advance(std::chrono::seconds(2));
  EXPECT_EQ(node.announces().size(), after_warmup + 1);

  relay::TrackerLimits eager;
  eager.interval = std::chrono::seconds(1); // clamped up to 10 s
  Swarm swarm2(1, eager);
  Node& other = swarm2.add(kLow);
  swarm2.join(other);
  swarm2.advance(std::chrono::seconds(3));
  const auto base = other.announces().size();
  swarm2.advance(std::chrono::seconds(9));
  EXPECT_EQ(other.announces().size(), base);
  swarm2.advance(std::chrono::seconds(2));
  EXPECT_EQ(other.announces().size(), base + 1);
}

TEST(TorrentCoordinator, UnclaimedOffersAreReplacedAfterTheirRetention) {
  Swarm swarm;
  Node& node = swarm.add(kMid);
  swarm.join(node);
  const auto first = node.announces().front().offers;
  swarm.advance(std::chrono::seconds(125));
  const auto latest = node.announces().back().offers;
  ASSERT_EQ(latest.size(), 3u);
  for (const auto& offer : latest)
    EXPECT_EQ(std::find(first.begin(), first.end(), offer), first.end());
  EXPECT_EQ(node.c().stats().offers_expired, 3u);
  std::size_t expired_closed = 0;
  for (const auto& [pc, fake] : node.pcs)
    expired_closed += fake.close_reason == "pool offer expired unclaimed";
  EXPECT_EQ(expired_closed, 3u);
}

TEST(TorrentCoordinator, TheSameOfferViaTwoTrackersIsAnsweredOnce) {
  Swarm swarm(2);
  Node& low = swarm.add(kLow);
  Node& high = swarm.add(kHigh);
  swarm.join_and_meet(low, high);
  EXPECT_EQ(high.c().stats().answers_sent, 1u);
  EXPECT_GE(high.c().stats().dropped_duplicate + high.c().stats().dropped_connected, 1u);
  EXPECT_EQ(low.open_pcs_for(kHigh).size(), 1u);
  swarm.connect(low, high);
}

TEST(TorrentCoordinator, AWrongPasswordIsOneJoinErrorPerPeer) {
  Swarm swarm;
  Node& low = swarm.add(kLow, "right");
  Node& high = swarm.add(kHigh, "wrong");
  swarm.join_and_meet(low, high);
  swarm.advance(std::chrono::seconds(125)); // steady announces, and a renewed pool
  const auto errors = high.all_events<JoinError>();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].peer, kLow);
  EXPECT_EQ(errors[0].message, kOfferPasswordError);
  EXPECT_GE(high.c().stats().offer_decrypt_failures, 2u);
  EXPECT_TRUE(high.open_pcs_for(kLow).empty());
}

TEST(TorrentCoordinator, ThreePeersPairUpOnceEach) {
  Swarm swarm;
  Node& a = swarm.add(kLow);
  Node& m = swarm.add(kMid);
  Node& z = swarm.add(kHigh);
  swarm.join(a);
  swarm.join(m);
  swarm.join(z);
  // Offers go to random members: the warm-up burst is enough for every pair with 3 offers each.
  swarm.advance(std::chrono::seconds(3));
  for (auto [x, y] : {std::pair{&a, &m}, {&a, &z}, {&m, &z}})
    swarm.connect(*x, *y); // exactly one PC on each side
  for (auto [x, y] : {std::pair{&a, &m}, {&a, &z}, {&m, &z}}) {
    EXPECT_TRUE(x->c().is_connected(y->id));
    EXPECT_TRUE(y->c().is_connected(x->id));
  }
}

TEST(TorrentCoordinator, ASilentAnswererIsGivenUpAfterTheConnectTimeout) {
  Swarm swarm;
  Node& low = swarm.add(kLow);
  Node& high = swarm.add(kHigh);
  swarm.join_and_meet(low, high);
  ASSERT_EQ(low.open_pcs_for(kHigh).size(), 1u);
  const PcId pc = low.open_pcs_for(kHigh)[0];
  swarm.advance(std::chrono::milliseconds(23400));
  EXPECT_TRUE(low.pcs.at(pc).closed);
  EXPECT_GE(low.c().stats().connect_timeouts, 1u);
  // Both sides forgot the attempt; the next steady announce (120 s) brings them together again.
  swarm.advance(std::chrono::seconds(100));
  EXPECT_EQ(low.open_pcs_for(kHigh).size(), 1u);
}

TEST(TorrentCoordinator, ALostPeerIsLookedForAgainAtOnce) {
  Swarm swarm;
  Node& low = swarm.add(kLow);
  Node& high = swarm.add(kHigh);
  swarm.join_and_meet(low, high);
  swarm.connect(low, high);
  const auto before = low.announces().size();
  low.c().handle_peer_lost(swarm.now, kHigh);
  high.c().handle_peer_lost(swarm.now, kLow);
  swarm.settle();
  EXPECT_GT(low.announces().size(), before);
  EXPECT_EQ(low.open_pcs_for(kHigh).size(), 1u) << "a new offer was claimed by the high id";
}

// ---- Passive rooms (§4.5) ----

TEST(TorrentCoordinator, APassiveRoomStaysDormantUntilAnOfferWakesIt) {
  Swarm swarm;
  Node& sleeper = swarm.add(kHigh, "", /*passive=*/true);
  swarm.join(sleeper);
  ASSERT_EQ(sleeper.announces().size(), 1u);
  EXPECT_TRUE(sleeper.announces()[0].offers.empty());
  EXPECT_EQ(sleeper.announces()[0].left, 0);
  EXPECT_EQ(sleeper.c().pool_offers(), 0u);
  swarm.advance(std::chrono::seconds(119));
  EXPECT_EQ(sleeper.announces().size(), 1u) << "dormant announces every 120 s";

  Node& active = swarm.add(kLow);
  swarm.join(active);
  swarm.advance(std::chrono::seconds(3));
  EXPECT_TRUE(sleeper.c().is_active());
  EXPECT_EQ(sleeper.all_events<Activated>().size(), 1u);
  EXPECT_EQ(sleeper.open_pcs_for(kLow).size(), 1u);
  swarm.connect(active, sleeper);

  // Without work it goes back to sleep: the peer leaves.
  sleeper.c().handle_peer_lost(swarm.now, kLow);
  swarm.settle();
  EXPECT_FALSE(sleeper.c().is_active());
  EXPECT_EQ(sleeper.all_events<Deactivated>().size(), 1u);
  EXPECT_EQ(sleeper.c().pool_offers(), 0u);
  EXPECT_TRUE(sleeper.announces().back().offers.empty());
}

// ---- Leaving and bad input ----

TEST(TorrentCoordinator, LeavingSaysStoppedClosesThePoolAndIgnoresLaterInput) {
  Swarm swarm;
  Node& node = swarm.add(kMid);
  swarm.join(node);
  node.c().leave(swarm.now);
  swarm.settle();
  const auto last = node.announces().back();
  EXPECT_EQ(last.event, "stopped");
  EXPECT_TRUE(last.offers.empty());
  for (const auto& [pc, fake] : node.pcs)
    EXPECT_TRUE(fake.closed);
  EXPECT_TRUE(node.subscriptions.empty());
  EXPECT_EQ(swarm.hub().stats().members, 0u) << "the tracker dropped us at once";
  EXPECT_FALSE(node.c().poll_timeout());
}

TEST(TorrentCoordinator, MalformedForeignAndOwnMessagesAreDroppedAndCounted) {
  Swarm swarm;
  Node& node = swarm.add(kMid);
  swarm.join(node);
  auto& c = node.c();
  const auto& ih = c.info_hash();
  c.handle_message(swarm.now, 0, ih, "not json");
  c.handle_message(swarm.now, 0, ih,
                   R"({"action":"announce","offer":{"type":"offer"},)"
                   R"("offer_id":"x","peer_id":"A0000000000000000000",)"
                   R"("info_hash":")" +
                       ih + "\"}"); // trickle: no sdp
  c.handle_message(swarm.now, 0, "another-info-hash-20", "{}");
  c.handle_message(swarm.now, 0, ih,
                   tracker::encode(tracker::PeerOffer{ih, kMid, "o1", "ciphertext"}));
  c.handle_message(swarm.now, 0, ih,
                   tracker::encode(tracker::PeerAnswer{ih, kLow, "unknown-offer", "ciphertext"}));
  c.handle_message(swarm.now, 0, ih, tracker::encode(tracker::Failure{"go away", ih}));
  node.drain(swarm.now);
  EXPECT_EQ(c.stats().dropped_malformed, 2u);
  EXPECT_EQ(c.stats().dropped_foreign, 1u);
  EXPECT_EQ(c.stats().dropped_own, 1u);
  EXPECT_EQ(c.stats().dropped_stale_answer, 1u);
  EXPECT_EQ(c.stats().tracker_failures, 1u);
  EXPECT_TRUE(node.events.empty());
}

TEST(TorrentCoordinator, AFloodOfDistinctOfferIdsKeepsTheDedupeTableBounded) {
  Swarm swarm;
  Node& node = swarm.add(kHigh);
  swarm.join(node);
  const auto& ih = node.c().info_hash();
  SeededRng rng(5);
  // A peer with a lower id but the wrong key: every offer is decrypted and refused.
  for (int i = 0; i < 20000; ++i)
    node.c().handle_message(
        swarm.now, 0, ih,
        tracker::encode(tracker::PeerOffer{ih, kLow, "o" + std::to_string(i), "bad"}));
  node.drain(swarm.now);
  EXPECT_EQ(node.c().stats().offer_decrypt_failures, 20000u);
  EXPECT_EQ(node.all_events<JoinError>().size(), 1u);
  EXPECT_LE(node.c().remembered_signals(), TorrentLimits{}.max_dedupe_entries + 1);
}

} // namespace
} // namespace posthorn::signal::test
