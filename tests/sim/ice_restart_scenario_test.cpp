// ICE restart (RFC 8445 §9, JSEP §5.2.1) end to end: a new offer with new credentials moves the
// connection to a new ICE generation while the data channel keeps working on the old pair; and
// after a NAT reboot kills the path, a restart finds the new one.

#include "support/sim_nat.hpp"
#include "support/sim_net.hpp"
#include "support/sim_peer.hpp"
#include "support/sim_topology.hpp"

#include "ice/stun_message.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <iostream>

namespace posthorn::sim {
namespace {

using namespace std::chrono_literals;

/// Remembers the USERNAME ("<receiver ufrag>:<sender ufrag>", RFC 8445 §7.2.2) of every STUN
/// Binding request sent between the peers: which ICE generation the checks belong to.
struct CheckLog {
  struct Check {
    TimePoint at;
    HostId sender;
    std::string username;
  };
  std::vector<Check> checks;

  PacketFilter filter() {
    return [this](TimePoint now, HostId sender, const Datagram& d) {
      if (!ice::looks_like_stun(d.payload)) return Verdict::Pass;
      auto m = ice::StunMessage::decode(d.payload);
      if (!m || !m->is(ice::StunClass::Request, ice::StunMethod::Binding)) return Verdict::Pass;
      if (auto u = m->string(ice::stun_attr::kUsername))
        checks.push_back({now, sender, std::string(*u)});
      return Verdict::Pass;
    };
  }
  /// Checks with `username` sent at or after `from`.
  std::size_t count(std::string_view username, TimePoint from) const {
    std::size_t n = 0;
    for (const auto& c : checks)
      n += c.at >= from && c.username == username;
    return n;
  }
  std::size_t count_other_than(std::initializer_list<std::string_view> usernames,
                               TimePoint from) const {
    std::size_t n = 0;
    for (const auto& c : checks) {
      bool known = false;
      for (auto u : usernames)
        known = known || c.username == u;
      n += c.at >= from && !known;
    }
    return n;
  }
};

/// Sends numbered messages both ways every `period` while `running`, and checks that each side
/// receives them in order, without gaps (reliable ordered channel).
struct Chatter {
  Chatter(Network& net, SimPeer& a, rtc::ChannelId a_ch, SimPeer& b, rtc::ChannelId b_ch)
      : net(net), a(a), b(b), a_ch(a_ch), b_ch(b_ch) {
    a.on_message = [this](rtc::ChannelId, const Bytes& m, bool) { check(m, a_received); };
    b.on_message = [this](rtc::ChannelId, const Bytes& m, bool) { check(m, b_received); };
  }
  void start(Duration period) {
    running = true;
    tick = [this, period] {
      if (!running) return;
      send(a, a_ch, a_sent);
      send(b, b_ch, b_sent);
      net.schedule_in(period, tick);
    };
    tick();
  }
  void send(SimPeer& from, rtc::ChannelId ch, std::uint32_t& counter) {
    const std::string text = "msg " + std::to_string(counter);
    if (auto r = from.send(ch, as_bytes(text), false); !r) {
      errors.push_back(from.name() + " " + text + ": " + r.error().message());
      return;
    }
    ++counter;
  }
  void check(const Bytes& m, std::uint32_t& received) {
    const std::string expected = "msg " + std::to_string(received);
    if (as_string_view(m) != expected)
      errors.push_back("got '" + std::string(as_string_view(m)) + "', expected '" + expected + "'");
    ++received;
  }
  [[nodiscard]] bool all_delivered() const { return a_received == b_sent && b_received == a_sent; }
  std::string describe() const {
    return "a sent " + std::to_string(a_sent) + " (b got " + std::to_string(b_received) +
           "), b sent " + std::to_string(b_sent) + " (a got " + std::to_string(a_received) + "), " +
           std::to_string(errors.size()) + " errors" +
           (errors.empty() ? "" : ", first: " + errors.front());
  }

  Network& net;
  SimPeer& a;
  SimPeer& b;
  rtc::ChannelId a_ch, b_ch;
  std::function<void()> tick;
  bool running = false;
  std::uint32_t a_sent = 0, b_sent = 0, a_received = 0, b_received = 0;
  std::vector<std::string> errors;
};

struct RestartFixture {
  RestartFixture(std::uint64_t seed, NatType a, NatType b)
      : net(seed), topo(net, a, b),
        alice(net, "alice", topo.site_a.local_ip, {.stun_servers = {topo.stun_address}}),
        bob(net, "bob", topo.site_b.local_ip, {.stun_servers = {topo.stun_address}}) {
    net.record_trace(30);
    net.set_conditions({.latency = 25ms, .jitter = 5ms});
    net.set_packet_filter(log.filter());
    topo.attach_a(alice, "alice");
    topo.attach_b(bob, "bob");
    a_ch = alice.create_channel({.label = "chat"});
    negotiate(alice, bob);
    const bool ok = net.drive_until(
        [&] { return alice.is_open(a_ch) && bob.channel_by_label("chat"); }, 10s, "connected");
    EXPECT_TRUE(ok) << alice.describe() << "\n" << bob.describe();
    b_ch = bob.channel_by_label("chat").value_or(0);
  }
  static std::string username(const SimPeer& to, const SimPeer& from) {
    return to.pc().local_ice_credentials().ufrag + ":" + from.pc().local_ice_credentials().ufrag;
  }

  Network net;
  CheckLog log;
  TwoPeerTopology topo;
  SimPeer alice;
  SimPeer bob;
  rtc::ChannelId a_ch = 0, b_ch = 0;
};

TEST(IceRestartScenario, NewCredentialsTakeOverWhileTheChannelKeepsDelivering) {
  RestartFixture f(61, NatType::PortRestricted, NatType::FullCone);
  ASSERT_NE(f.b_ch, 0u);
  const std::string old_a_to_b = RestartFixture::username(f.bob, f.alice);
  const std::string old_b_to_a = RestartFixture::username(f.alice, f.bob);
  const auto old_alice_ufrag = f.alice.pc().local_ice_credentials().ufrag;
  const auto old_bob_ufrag = f.bob.pc().local_ice_credentials().ufrag;

  Chatter chat(f.net, f.alice, f.a_ch, f.bob, f.b_ch);
  chat.start(20ms);
  f.net.run_for(500ms);

  const TimePoint restart = f.net.now();
  f.alice.restart_ice(); // new offer, new ufrag/pwd; bob answers with new ones too (JSEP §5.3.1)
  EXPECT_NE(f.alice.pc().local_ice_credentials().ufrag, old_alice_ufrag);
  ASSERT_TRUE(f.net.drive_until([&] { return f.alice.descriptions_received() == 2; }, 5s,
                                "the restart answer arrived"))
      << f.alice.describe() << "\n"
      << f.bob.describe();
  EXPECT_NE(f.bob.pc().local_ice_credentials().ufrag, old_bob_ufrag);
  const std::string new_a_to_b = RestartFixture::username(f.bob, f.alice);
  const std::string new_b_to_a = RestartFixture::username(f.alice, f.bob);

  // The new generation connects and consent runs on it.
  ASSERT_TRUE(f.net.drive_until(
      [&] {
        return f.log.count(new_a_to_b, restart) > 0 && f.log.count(new_b_to_a, restart) > 0 &&
               f.alice.connected() && f.bob.connected();
      },
      10s, "new-generation checks both ways"))
      << f.alice.describe() << "\n"
      << f.bob.describe();
  f.net.run_for(15s); // consent rounds on the new selected pair; chatter goes on
  const TimePoint settled = restart + 2s;
  EXPECT_EQ(f.log.count_other_than({new_a_to_b, new_b_to_a}, settled), 0u)
      << "after the restart only the new generation is checked";
  EXPECT_GE(f.log.count(new_a_to_b, settled) + f.log.count(new_b_to_a, settled), 4u)
      << "consent freshness on the new pair";
  EXPECT_GT(f.log.count(old_a_to_b, kEpoch) + f.log.count(old_b_to_a, kEpoch), 0u);
  const auto pa = f.alice.pc().selected_pair();
  ASSERT_TRUE(pa);
  EXPECT_TRUE(pa->nominated);
  EXPECT_EQ(pa->remote.ip(), f.topo.site_b.public_ip);

  // Nothing was lost or reordered across the restart, and the connection never wavered.
  chat.running = false;
  ASSERT_TRUE(f.net.drive_until([&] { return chat.all_delivered(); }, 10s, "chatter delivered"))
      << chat.describe();
  EXPECT_TRUE(chat.errors.empty()) << chat.describe();
  EXPECT_GT(chat.a_sent, 700u);
  for (const SimPeer* peer : {&f.alice, &f.bob}) {
    EXPECT_FALSE(peer->first_time_after(rtc::ConnectionState::Disconnected, restart))
        << peer->describe();
    EXPECT_FALSE(peer->first_time_after(rtc::ConnectionState::Failed, restart)) << peer->describe();
  }
  close_and_drain(f.net, f.alice, f.bob);
}

TEST(IceRestartScenario, RestartAfterANatRebootFindsTheNewMapping) {
  // Alice is behind a NAT, Bob is public: Bob's selected pair points at Alice's NAT mapping.
  RestartFixture f(62, NatType::PortRestricted, NatType::None);
  ASSERT_NE(f.b_ch, 0u);
  const auto old_pair = f.bob.pc().selected_pair();
  ASSERT_TRUE(old_pair);
  EXPECT_EQ(old_pair->remote.ip(), f.topo.site_a.public_ip);

  Chatter chat(f.net, f.alice, f.a_ch, f.bob, f.b_ch);
  chat.start(100ms);
  f.net.run_for(1s);

  // The router reboots: every mapping is gone, Alice's next packet gets a new public port, and
  // whatever Bob sends to the old one the NAT now drops.
  const TimePoint reboot = f.net.now();
  f.net.nat(*f.topo.site_a.nat).flush();
  const auto alice_had = chat.a_received;
  f.net.run_for(3s);
  EXPECT_EQ(chat.a_received, alice_had) << "Bob -> Alice is dead: " << chat.describe();
  EXPECT_GT(f.net.stats().dropped_nat_no_mapping, 0u);

  // Alice's application restarts ICE, as apps do when the network changed under them (or on
  // connectionState "disconnected", which Bob should report but does not yet: see
  // ConsentScenario.NatRebootIsReportedAsDisconnectedByThePeerWhosePathDied).
  const TimePoint restart = f.net.now();
  f.alice.restart_ice();
  ASSERT_TRUE(f.net.drive_until(
      [&] {
        const auto p = f.bob.pc().selected_pair();
        return p && p->remote != old_pair->remote && p->nominated && f.alice.connected() &&
               f.bob.connected();
      },
      10s, "a new nominated pair after the restart"))
      << f.alice.describe() << "\n"
      << f.bob.describe();
  const TimePoint reconnected = f.net.now();
  const auto new_pair = f.bob.pc().selected_pair();
  ASSERT_TRUE(new_pair);
  EXPECT_NE(new_pair->remote, old_pair->remote) << "the new path uses the new mapping";
  EXPECT_EQ(new_pair->remote,
            f.net.nat(*f.topo.site_a.nat)
                .mapping_for(f.net.now(), f.alice.local_address(), f.bob.local_address()));

  // Everything sent into the dead path arrives once SCTP retransmits over the new one.
  chat.running = false;
  ASSERT_TRUE(f.net.drive_until([&] { return chat.all_delivered(); }, 30s, "chatter delivered"))
      << chat.describe() << "\n"
      << f.alice.describe() << "\n"
      << f.bob.describe();
  EXPECT_TRUE(chat.errors.empty()) << chat.describe();
  for (const SimPeer* peer : {&f.alice, &f.bob}) {
    EXPECT_FALSE(peer->first_time_after(rtc::ConnectionState::Failed, reboot)) << peer->describe();
  }
  std::cout << "[ info ] NAT reboot: reconnected " << to_ms(reconnected - restart)
            << " ms after the restart, backlog delivered " << to_ms(f.net.now() - restart)
            << " ms after it\n";
  close_and_drain(f.net, f.alice, f.bob);
}

} // namespace
} // namespace posthorn::sim
