#pragma once
// Test harness for signal::Coordinator: a fake driver per node (it "creates" PCs, reports local
// descriptions and candidates at once) and an in-memory relay bus that delivers each Publish to
// every node subscribed to that topic on that relay, the sender included (as MQTT does). Virtual
// time only: advance_to() fires the nodes' timers in order, nothing sleeps.

#include "core/overloaded.hpp"
#include "core/rng.hpp"
#include "signal/coordinator.hpp"
#include "signal/signal_cipher.hpp"
#include "signal/signal_message.hpp"
#include "signal/trystero_ids.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace posthorn::signal::test {

inline const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);
inline const std::string kApp = "posthorn-test";
inline const std::string kRoom = "lobby";
// Byte order decides who offers: digits < uppercase < lowercase (§1).
inline const PeerId kLow = "A0000000000000000000";
inline const PeerId kHigh = "z0000000000000000000";
inline const PeerId kOther = "M0000000000000000000";

inline CoordinatorConfig make_config(const PeerId& self, std::size_t relays = 1,
                                     std::string password = "") {
  CoordinatorConfig c;
  c.app_id = kApp;
  c.room_id = kRoom;
  c.password = std::move(password);
  c.self_id = self;
  c.relay_count = relays;
  return c;
}

inline CandidateInit make_candidate(std::string_view tag, int n) {
  CandidateInit c;
  c.candidate = "candidate:" + std::to_string(n) + " 1 udp 2122260223 10.0.0." + std::to_string(n) +
                " " + std::to_string(40000 + n) + " typ host " + std::string(tag);
  c.sdp_mid = "0";
  c.sdp_mline_index = 0;
  return c;
}

/// What the fake driver did with one PC.
struct FakePc {
  PeerId peer;
  bool offerer = false;
  std::string local_sdp;
  std::string remote_sdp;
  std::vector<CandidateInit> remote_candidates;
  bool closed = false;
  std::string close_reason;
};

/// One coordinator plus a fake driver that records every command and event.
class Node {
public:
  explicit Node(CoordinatorConfig config, std::uint64_t seed = 1)
      : id(config.self_id), rng_(seed), coordinator_(std::move(config), rng_) {}

  Coordinator& c() { return coordinator_; }
  const Coordinator& c() const { return coordinator_; }

  /// Executes every queued command like a driver would; returns the new publishes.
  std::vector<Publish> drain(TimePoint now) {
    std::vector<Publish> out;
    while (auto command = coordinator_.poll_command()) {
      commands.push_back(*command);
      std::visit(
          overloaded{
              [&](Subscribe& s) { subscriptions.insert(s.topic); },
              [&](Unsubscribe& s) { subscriptions.erase(s.topic); },
              [&](Publish& p) {
                published.push_back(p);
                out.push_back(p);
              },
              [&](CreateOffer& o) {
                pcs[o.pc] = FakePc{.peer = o.peer, .offerer = true};
                describe(now, o.pc, "offer");
              },
              [&](CreateAnswer& a) {
                pcs[a.pc] = FakePc{.peer = a.peer, .remote_sdp = a.offer_sdp};
                describe(now, a.pc, "answer");
              },
              [&](ApplyAnswer& a) { pcs.at(a.pc).remote_sdp = a.answer_sdp; },
              [&](AddRemoteCandidate& a) { pcs.at(a.pc).remote_candidates.push_back(a.candidate); },
              [&](ClosePc& c) {
                pcs.at(c.pc).closed = true;
                pcs.at(c.pc).close_reason = c.reason;
              },
              [&](AttachShared&) {},
          },
          *command);
    }
    while (auto event = coordinator_.poll_event())
      events.push_back(*event);
    return out;
  }

  template <class T> std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& c : commands)
      if (const T* t = std::get_if<T>(&c)) out.push_back(*t);
    return out;
  }
  template <class T> std::vector<T> all_events() const {
    std::vector<T> out;
    for (const auto& e : events)
      if (const T* t = std::get_if<T>(&e)) out.push_back(*t);
    return out;
  }
  /// Publishes of one message type (parsed), optionally to one topic.
  std::vector<std::pair<Publish, SignalMessage>> sent(SignalMessage::Type type,
                                                      const std::string& topic = "") const {
    std::vector<std::pair<Publish, SignalMessage>> out;
    for (const auto& p : published) {
      auto m = parse_signal_message(p.text);
      EXPECT_TRUE(m) << p.text;
      if (m && m->type == type && (topic.empty() || p.topic == topic)) out.emplace_back(p, *m);
    }
    return out;
  }
  std::vector<PcId> pcs_for(const PeerId& peer, bool include_closed = false) const {
    std::vector<PcId> out;
    for (const auto& [id, pc] : pcs)
      if (pc.peer == peer && (include_closed || !pc.closed)) out.push_back(id);
    return out;
  }

  const PeerId id;
  bool auto_describe = true; ///< report the local SDP as soon as a PC is made
  std::size_t candidates_per_pc = 1;
  std::vector<Command> commands;
  std::vector<Publish> published;
  std::vector<Event> events;
  std::map<PcId, FakePc> pcs;
  std::set<std::string> subscriptions;

private:
  void describe(TimePoint now, PcId pc, std::string_view kind) {
    if (!auto_describe) return;
    auto& fake = pcs.at(pc);
    fake.local_sdp = "v=0 " + std::string(kind) + " from " + id + " pc " + std::to_string(pc);
    coordinator_.handle_local_description(now, pc, fake.local_sdp);
    for (std::size_t k = 0; k < candidates_per_pc; ++k)
      coordinator_.handle_local_candidate(
          now, pc, make_candidate(id + "/" + std::to_string(pc), static_cast<int>(k + 1)));
  }

  SeededRng rng_;
  Coordinator coordinator_;
};

/// An in-memory set of relays between nodes.
class Bus {
public:
  explicit Bus(std::size_t relays = 1) : relays_(relays) {}

  Node& add(const PeerId& id, std::string password = "", bool passive = false) {
    auto config = make_config(id, relays_, std::move(password));
    config.passive = passive;
    return add(std::move(config));
  }
  Node& add(CoordinatorConfig config) {
    const std::uint64_t seed = nodes_.size() + 1;
    nodes_.push_back(std::make_unique<Node>(std::move(config), seed));
    up_.emplace_back(relays_, false);
    return *nodes_.back();
  }

  /// start() plus every relay ready at the same moment: a node joining the room.
  void join(Node& node) {
    node.c().start(now);
    settle();
    for (std::size_t r = 0; r < relays_; ++r) {
      up_[index(node)][r] = true;
      node.c().handle_relay_ready(now, r);
    }
    settle();
  }
  void ready(Node& node, std::size_t relay) {
    up_[index(node)][relay] = true;
    node.c().handle_relay_ready(now, relay);
    settle();
  }
  void lose(Node& node, std::size_t relay) {
    up_[index(node)][relay] = false;
    node.c().handle_relay_lost(now, relay);
    settle();
  }

  /// Delivers every publish (and what it triggers) until the bus is quiet.
  void settle() {
    for (int rounds = 0;; ++rounds) {
      ASSERT_LT(rounds, 10000) << "signaling never settles";
      std::vector<std::pair<std::size_t, Publish>> batch;
      for (std::size_t i = 0; i < nodes_.size(); ++i)
        for (auto& p : nodes_[i]->drain(now))
          batch.emplace_back(i, std::move(p));
      if (batch.empty()) return;
      for (auto& [from, p] : batch) {
        if (drop && drop(*nodes_[from], p)) continue;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
          if (!up_[i][p.relay] || !up_[from][p.relay]) continue;
          if (!nodes_[i]->subscriptions.contains(p.topic)) continue;
          nodes_[i]->c().handle_message(now, p.relay, p.topic, p.text);
        }
      }
    }
  }

  /// Fires every timer due up to `t`, in order, then sets the clock to `t`.
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
    const auto pa = a.pcs_for(b.id);
    const auto pb = b.pcs_for(a.id);
    ASSERT_EQ(pa.size(), 1u);
    ASSERT_EQ(pb.size(), 1u);
    a.c().handle_connected(now, pa[0]);
    b.c().handle_connected(now, pb[0]);
    settle();
  }

  TimePoint now = kT0;
  /// Drop a publish (from, publish) -> true to lose it.
  std::function<bool(const Node&, const Publish&)> drop;

private:
  std::size_t index(const Node& node) const {
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].get() == &node) return i;
    ADD_FAILURE() << "unknown node";
    return 0;
  }

  std::size_t relays_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::vector<bool>> up_;
};

/// A scripted remote peer: writes the messages a JS peer would publish, encrypted with its key.
struct Remote {
  explicit Remote(PeerId peer, std::string password = "")
      : id(std::move(peer)), key(SignalKey::derive(password, kApp, kRoom)) {}

  std::string announce(bool passive = false) const {
    return to_json(SignalMessage{.peer_id = id, .passive = passive});
  }
  std::string offer(const std::string& offer_id, std::string_view sdp, bool passive = false) {
    return to_json(SignalMessage{.peer_id = id,
                                 .offer_id = offer_id,
                                 .type = SignalMessage::Type::Offer,
                                 .payload = encrypt(key, sdp, rng),
                                 .passive = passive});
  }
  std::string answer(const std::optional<std::string>& offer_id, std::string_view sdp) {
    return to_json(SignalMessage{.peer_id = id,
                                 .offer_id = offer_id,
                                 .type = SignalMessage::Type::Answer,
                                 .payload = encrypt(key, sdp, rng)});
  }
  std::string candidate(const std::optional<std::string>& offer_id, const CandidateInit& c,
                        bool answerer = false) {
    return to_json(SignalMessage{.peer_id = id,
                                 .offer_id = offer_id,
                                 .type = SignalMessage::Type::Candidate,
                                 .payload = encrypt(key, to_json(c), rng),
                                 .answerer_key_order = answerer});
  }
  /// selfTopic of this remote: where a node publishes to it.
  std::string topic() const { return self_topic(kApp, kRoom, id); }

  PeerId id;
  SignalKey key;
  SeededRng rng{99};
};

/// One node alone, fed by a test that plays the remote peers (see Remote).
struct Solo {
  explicit Solo(CoordinatorConfig config) : relays(config.relay_count), node(std::move(config)) {
    node.c().start(now);
    for (std::size_t r = 0; r < relays; ++r)
      node.c().handle_relay_ready(now, r);
    node.drain(now);
  }
  void inject(const std::string& topic, std::string_view text, std::size_t relay = 0) {
    node.c().handle_message(now, relay, topic, text);
    node.drain(now);
  }
  /// Fires every timer due up to `t`, in order, then sets the clock to `t`.
  void advance_to(TimePoint t) {
    for (int steps = 0;; ++steps) {
      ASSERT_LT(steps, 100000) << "timers never quiesce";
      auto d = node.c().poll_timeout();
      if (!d || *d > t) break;
      now = std::max(now, *d);
      node.c().handle_timeout(now);
      node.drain(now);
    }
    now = t;
  }
  void advance(Duration d) { advance_to(now + d); }

  std::size_t relays;
  TimePoint now = kT0;
  Node node;
};

inline std::string root() {
  return root_topic(kApp, kRoom);
}
inline std::string topic_of(const PeerId& peer) {
  return self_topic(kApp, kRoom, peer);
}

} // namespace posthorn::signal::test
