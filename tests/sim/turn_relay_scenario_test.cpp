// PeerConnections with TURN on the sim network: a symmetric NAT on both sides (which STUN alone
// cannot traverse, nat_traversal_scenario_test.cpp) now connects through the relay; the relay
// policy keeps every host and server-reflexive address out of signaling and off the wire; a wrong
// password fails fast and says why; data survives loss through the relay; closing releases the
// allocations.
#include "turn_sim_server.hpp"

#include "support/sim_nat.hpp"
#include "support/sim_net.hpp"
#include "support/sim_topology.hpp"
#include "support/sim_wall_clock.hpp"

#include "core/overloaded.hpp"
#include "rtc/peer_connection.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace posthorn::sim {
namespace {

using namespace std::chrono_literals;

const SocketAddress kTurnAddress(IpAddress::v4({192, 0, 2, 10}), 3478);
// TURN link n of a peer sends from port kLinkPortBase + n of the peer's IP: its own socket, as
// runtime::TurnSockets gives it in production.
constexpr std::uint16_t kLinkPortBase = 40000;

/// A PeerConnection on the sim network that also carries TURN links (sim::SimPeer predates them).
/// Trickle signaling to `remote` with a fixed delay; the offerer creates channel "chat"; the
/// answerer echoes every message.
class RelayPeer final : public Endpoint {
public:
  RelayPeer(Network& net, std::string name, IpAddress ip, rtc::Configuration config, bool echo)
      : net_(net), name_(std::move(name)), ip_(ip), echo_(echo), rng_(net.rng().next_u64()),
        pc_(std::move(config), rng_) {
    pc_.add_local_socket(SocketAddress(ip_, 5000));
  }

  void set_remote(RelayPeer& r) { remote_ = &r; }
  rtc::PeerConnection& pc() { return pc_; }

  void offer() {
    channel_ = pc_.create_data_channel({.label = "chat"}).value();
    auto offer = pc_.create_offer().value();
    ASSERT_TRUE(pc_.set_local_description(net_.now(), offer));
    signal([sdp = offer.sdp](RelayPeer& to) { to.on_offer(sdp); });
    process();
  }

  [[nodiscard]] bool open() const { return open_; }
  [[nodiscard]] rtc::ConnectionState state() const { return pc_.connection_state(); }
  [[nodiscard]] const std::vector<ice::CandidateError>& errors() const { return errors_; }
  [[nodiscard]] const std::vector<std::string>& candidates() const { return candidates_; }
  [[nodiscard]] const std::vector<Bytes>& received() const { return received_; }
  [[nodiscard]] std::uint64_t received_bytes() const { return received_bytes_; }
  [[nodiscard]] std::optional<TimePoint> failed_at() const { return failed_at_; }
  [[nodiscard]] const std::vector<SocketAddress>& sent_from() const { return sent_from_; }

  bool send(ByteView data) {
    auto r = pc_.send(net_.now(), *channel_, data, true);
    process();
    return r.has_value();
  }
  void close() {
    pc_.close(net_.now());
    process();
  }

  void handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& from,
                       ByteView data) override {
    if (local.port() >= kLinkPortBase) {
      pc_.handle_turn_bytes(now, local.port() - kLinkPortBase, data);
    } else {
      pc_.handle_datagram(now, local, from, data);
    }
    process();
  }
  void handle_timeout(TimePoint now) override {
    pc_.handle_timeout(now);
    process();
  }
  std::optional<Datagram> poll_transmit() override {
    auto t = pc_.poll_transmit();
    if (!t) return std::nullopt;
    SocketAddress from = t->local;
    if (t->turn) from = SocketAddress(ip_, static_cast<std::uint16_t>(kLinkPortBase + t->turn->id));
    if (std::find(sent_from_.begin(), sent_from_.end(), from) == sent_from_.end())
      sent_from_.push_back(from);
    return Datagram{from, t->remote, std::move(t->payload)};
  }
  std::optional<TimePoint> poll_timeout() override {
    process();
    return pc_.poll_timeout();
  }

private:
  void signal(std::function<void(RelayPeer&)> deliver) {
    RelayPeer* to = remote_;
    net_.schedule_in(50ms, [to, deliver = std::move(deliver)] {
      deliver(*to);
      to->process();
    });
  }
  void on_offer(const std::string& sdp) {
    ASSERT_TRUE(pc_.set_remote_description(net_.now(), {rtc::DescriptionType::Offer, sdp}));
    auto answer = pc_.create_answer().value();
    ASSERT_TRUE(pc_.set_local_description(net_.now(), answer));
    signal([sdp = answer.sdp](RelayPeer& to) {
      ASSERT_TRUE(
          to.pc_.set_remote_description(to.net_.now(), {rtc::DescriptionType::Answer, sdp}));
    });
  }
  void process() {
    while (auto e = pc_.poll_event()) {
      std::visit(overloaded{
                     [&](rtc::event::LocalCandidate& c) {
                       candidates_.push_back(c.candidate);
                       signal([c](RelayPeer& to) {
                         (void)to.pc_.add_remote_candidate(to.net_.now(), c.candidate, c.mid);
                       });
                     },
                     [&](rtc::event::DataChannelOpen& o) {
                       channel_ = o.channel.id;
                       open_ = true;
                     },
                     [&](rtc::event::DataChannelMessage& m) {
                       received_bytes_ += m.data.size();
                       if (echo_) (void)pc_.send(net_.now(), m.channel, m.data, m.binary);
                       received_.push_back(std::move(m.data));
                     },
                     [&](rtc::event::ConnectionStateChanged& s) {
                       if (s.state == rtc::ConnectionState::Failed && !failed_at_)
                         failed_at_ = net_.now();
                     },
                     [](auto&) {},
                 },
                 *e);
    }
    while (auto e = pc_.poll_candidate_error())
      errors_.push_back(std::move(*e));
  }

  Network& net_;
  std::string name_;
  IpAddress ip_;
  bool echo_;
  SeededRng rng_;
  rtc::PeerConnection pc_;
  RelayPeer* remote_ = nullptr;
  std::optional<rtc::ChannelId> channel_;
  bool open_ = false;
  std::vector<ice::CandidateError> errors_;
  std::vector<std::string> candidates_;
  std::vector<Bytes> received_;
  std::uint64_t received_bytes_ = 0;
  std::optional<TimePoint> failed_at_;
  std::vector<SocketAddress> sent_from_;
};

rtc::Configuration config_for(const TwoPeerTopology& topo, ice::IceTransportPolicy policy,
                              std::string password = "secret") {
  rtc::Configuration c;
  c.stun_servers = {topo.stun_address};
  ice::TurnServerConfig turn;
  turn.server = kTurnAddress;
  turn.username = "alice";
  turn.password = std::move(password);
  c.turn_servers = {turn};
  c.ice_transport_policy = policy;
  return c;
}

struct Scenario {
  Scenario(std::uint64_t seed, NatType a, NatType b, ice::IceTransportPolicy policy,
           std::string password = "secret")
      : net(seed), clock(net), topo(net, a, b),
        alice(net, "alice", topo.site_a.local_ip, config_for(topo, policy, password), false),
        bob(net, "bob", topo.site_b.local_ip, config_for(topo, policy, password), true) {
    auto owned = std::make_unique<SimTurnServer>(SimTurnServer::Options{.address = kTurnAddress});
    turn = owned.get();
    net.add_host("turn", std::move(owned), {kTurnAddress.ip()});
    net.set_conditions({.latency = 20ms, .jitter = 5ms});
    topo.attach_a(alice, "alice");
    topo.attach_b(bob, "bob");
    alice.set_remote(bob);
    bob.set_remote(alice);
    alice.offer();
  }

  /// Opens, echoes one message and checks it came back intact.
  void echo_once() {
    ASSERT_TRUE(net.drive_until([&] { return alice.open() && bob.open(); }, 10s, "channel open"));
    const Bytes ping = to_bytes("ping through the relay");
    ASSERT_TRUE(alice.send(ping));
    ASSERT_TRUE(net.drive_until([&] { return !alice.received().empty(); }, 5s, "echo back"));
    EXPECT_EQ(alice.received().front(), ping);
  }

  void close_and_drain() {
    alice.close();
    bob.close();
    net.run_for(5s);
    EXPECT_TRUE(net.idle()) << "after closing both peers something is still pending";
    EXPECT_EQ(turn->live_allocations(), 0u) << "Refresh(LIFETIME 0) released them";
  }

  Network net;
  VirtualWallClock clock;
  TwoPeerTopology topo;
  RelayPeer alice;
  RelayPeer bob;
  SimTurnServer* turn = nullptr;
};

TEST(TurnRelayScenario, SymmetricNatOnBothSidesConnectsThroughTheRelay) {
  Scenario s(41, NatType::Symmetric, NatType::Symmetric, ice::IceTransportPolicy::All);
  ASSERT_FALSE(stun_only_connectivity_expected(NatType::Symmetric, NatType::Symmetric));
  s.echo_once();
  const auto pa = s.alice.pc().selected_pair();
  const auto pb = s.bob.pc().selected_pair();
  ASSERT_TRUE(pa && pb);
  EXPECT_TRUE(pa->local_type == ice::CandidateType::Relayed ||
              pa->remote_type == ice::CandidateType::Relayed);
  EXPECT_TRUE(pb->local_type == ice::CandidateType::Relayed ||
              pb->remote_type == ice::CandidateType::Relayed);
  EXPECT_GT(s.turn->counters().to_peers, 0u);
  EXPECT_GT(s.turn->counters().to_clients, 0u);
  EXPECT_TRUE(s.alice.errors().empty() && s.bob.errors().empty());
  s.close_and_drain();
}

TEST(TurnRelayScenario, RelayPolicySignalsAndUsesRelayedCandidatesOnly) {
  Scenario s(42, NatType::None, NatType::PortRestricted, ice::IceTransportPolicy::Relay);
  s.echo_once();
  for (RelayPeer* p : {&s.alice, &s.bob}) {
    ASSERT_FALSE(p->candidates().empty());
    for (const auto& c : p->candidates()) {
      if (c.empty()) continue; // end-of-candidates
      EXPECT_NE(c.find("typ relay"), std::string::npos) << c;
      EXPECT_NE(c.find("raddr 0.0.0.0 rport 0"), std::string::npos) << c;
    }
    const auto sdp = p->pc().local_description()->sdp;
    EXPECT_EQ(sdp.find("typ host"), std::string::npos) << sdp;
    EXPECT_EQ(sdp.find("typ srflx"), std::string::npos) << sdp;
    const auto pair = p->pc().selected_pair();
    ASSERT_TRUE(pair);
    EXPECT_EQ(pair->local_type, ice::CandidateType::Relayed);
    EXPECT_EQ(pair->local.ip(), kTurnAddress.ip());
    // Only the TURN link's socket ever sent anything: host and STUN traffic stayed off.
    for (const auto& from : p->sent_from())
      EXPECT_GE(from.port(), kLinkPortBase) << from.to_string();
  }
  s.close_and_drain();
}

TEST(TurnRelayScenario, WrongPasswordUnderRelayPolicyFailsAtOnceWithTheReason) {
  Scenario s(43, NatType::None, NatType::None, ice::IceTransportPolicy::Relay, "wrong");
  ASSERT_TRUE(s.net.drive_until([&] { return s.alice.failed_at() && s.bob.failed_at(); }, 3s,
                                "both connections failed"));
  for (RelayPeer* p : {&s.alice, &s.bob}) {
    ASSERT_EQ(p->errors().size(), 1u);
    EXPECT_EQ(p->errors()[0].code, 401);
    EXPECT_NE(p->errors()[0].text.find("bad credentials"), std::string::npos)
        << p->errors()[0].text;
    EXPECT_LE(*p->failed_at() - kEpoch, 1s) << "within a few round trips, not a timeout";
  }
  EXPECT_GT(s.turn->counters().auth_failures, 0u);
  EXPECT_EQ(s.turn->live_allocations(), 0u);
}

TEST(TurnRelayScenario, ABurstSurvivesLossThroughTheRelay) {
  Scenario s(44, NatType::Symmetric, NatType::Symmetric, ice::IceTransportPolicy::Relay);
  s.echo_once();
  s.net.set_conditions({.latency = 20ms, .jitter = 5ms, .loss = 0.02});
  constexpr std::size_t kMessages = 64;
  Bytes message(4000);
  for (std::size_t i = 0; i < kMessages; ++i) {
    std::fill(message.begin(), message.end(), static_cast<std::uint8_t>(i));
    ASSERT_TRUE(s.alice.send(message));
  }
  ASSERT_TRUE(
      s.net.drive_until([&] { return s.alice.received_bytes() >= kMessages * message.size() + 22; },
                        60s, "every message echoed through the relay"));
  // Ordered, reliable channel: the echo comes back in order and intact.
  for (std::size_t i = 0; i < kMessages; ++i) {
    const auto& m = s.alice.received().at(i + 1);
    ASSERT_EQ(m.size(), message.size());
    EXPECT_TRUE(std::all_of(m.begin(), m.end(),
                            [&](std::uint8_t b) { return b == static_cast<std::uint8_t>(i); }));
  }
  s.close_and_drain();
}

} // namespace
} // namespace posthorn::sim
