// ICE agent behaviour on a tiny in-test wire: two agents, a virtual clock, optional blackholing.
// NAT traversal, loss and latency scenarios live in tests/sim/ on the full sim network.
#include "ice/agent.hpp"

#include "core/overloaded.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace posthorn::ice {
namespace {

struct Side {
  Side(Role role, std::uint64_t seed, std::string address)
      : rng(seed), agent(AgentConfig{.role = role}, rng), local(*SocketAddress::parse(address)) {
    agent.add_local_socket(local);
  }
  SeededRng rng;
  Agent agent;
  SocketAddress local;
  std::vector<Candidate> candidates;
  std::vector<IceState> states;
  std::vector<Role> roles;
  bool gathered = false;
};

class AgentPair : public ::testing::Test {
protected:
  TimePoint now = TimePoint{} + seconds(1000);
  std::function<bool(const Transmit&)> drop = [](const Transmit&) { return false; };

  void drain(Side& s) {
    while (auto e = s.agent.poll_event()) {
      std::visit(overloaded{
                     [&](const event::LocalCandidate& c) { s.candidates.push_back(c.candidate); },
                     [&](const event::GatheringComplete&) { s.gathered = true; },
                     [&](const event::StateChanged& c) { s.states.push_back(c.state); },
                     [&](const event::SelectedPairChanged&) {},
                     [&](const event::RoleChanged& r) { s.roles.push_back(r.role); },
                 },
                 *e);
    }
  }

  // Delivers every pending transmit (instantly), until both sides are quiet.
  void deliver(Side& a, Side& b) {
    bool moved = true;
    while (moved) {
      moved = false;
      for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        while (auto t = from->agent.poll_transmit()) {
          moved = true;
          if (drop(*t) || t->remote != to->local) continue;
          to->agent.handle_datagram(now, to->local, t->local, t->payload);
        }
        drain(*from);
      }
    }
  }

  // Advances the clock to the next deadline of either agent and fires it.
  void advance(Side& a, Side& b) {
    auto next = a.agent.poll_timeout();
    auto nb = b.agent.poll_timeout();
    if (!next || (nb && *nb < *next)) next = nb;
    if (next && *next > now) now = *next;
    a.agent.handle_timeout(now);
    b.agent.handle_timeout(now);
  }

  bool run_until(Side& a, Side& b, const std::function<bool()>& done, int max_steps = 10000) {
    for (int i = 0; i < max_steps; ++i) {
      deliver(a, b);
      if (done()) return true;
      advance(a, b);
    }
    return done();
  }

  void exchange(Side& a, Side& b) {
    a.agent.gather(now);
    b.agent.gather(now);
    drain(a);
    drain(b);
    a.agent.set_remote_credentials(now, b.agent.local_credentials().ufrag,
                                   b.agent.local_credentials().pwd);
    b.agent.set_remote_credentials(now, a.agent.local_credentials().ufrag,
                                   a.agent.local_credentials().pwd);
    for (const auto& c : b.candidates)
      a.agent.add_remote_candidate(now, c);
    for (const auto& c : a.candidates)
      b.agent.add_remote_candidate(now, c);
  }

  static bool completed(const Side& s) { return s.agent.state() == IceState::Completed; }
};

TEST_F(AgentPair, HostCandidatesConnectAndNominateTheSamePair) {
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  Side b(Role::Controlled, 2, "10.0.0.2:6000");
  exchange(a, b);
  ASSERT_TRUE(run_until(a, b, [&] { return completed(a) && completed(b); }));
  auto pa = a.agent.selected_pair();
  auto pb = b.agent.selected_pair();
  ASSERT_TRUE(pa && pb);
  EXPECT_EQ(pa->remote, b.local);
  EXPECT_EQ(pb->remote, a.local);
  EXPECT_TRUE(pa->nominated && pb->nominated);
  EXPECT_EQ(a.states.front(), IceState::Checking);
  EXPECT_TRUE(a.gathered && b.gathered) << "no STUN servers: gathering ends right away";
}

TEST_F(AgentPair, ConnectsInOneRoundTripWithoutWaitingForPacing) {
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  Side b(Role::Controlled, 2, "10.0.0.2:6000");
  const TimePoint start = now;
  exchange(a, b);
  ASSERT_TRUE(run_until(a, b, [&] { return completed(a) && completed(b); }));
  EXPECT_EQ(now, start) << "with zero latency and one pair, no timer should be needed";
}

TEST_F(AgentPair, HostCandidateLineCarriesUfragAndPriority) {
  Side a(Role::Controlling, 1, "192.168.1.10:5000");
  a.agent.gather(now);
  drain(a);
  ASSERT_EQ(a.candidates.size(), 1u);
  const auto& c = a.candidates[0];
  EXPECT_EQ(c.type, CandidateType::Host);
  EXPECT_EQ(c.extension("ufrag"), a.agent.local_credentials().ufrag);
  EXPECT_EQ(c.priority >> 24, 126u);
  EXPECT_EQ(c.socket_address(), a.local);
}

TEST_F(AgentPair, RoleConflictIsResolvedByTieBreaker) {
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  Side b(Role::Controlling, 2, "10.0.0.2:6000");
  exchange(a, b);
  ASSERT_TRUE(run_until(a, b, [&] { return completed(a) && completed(b); }));
  EXPECT_NE(a.agent.role(), b.agent.role());
  EXPECT_GE(a.agent.stats().role_conflicts + b.agent.stats().role_conflicts, 1u);
  EXPECT_EQ(a.roles.size() + b.roles.size(), 1u) << "exactly one side switched";
}

TEST_F(AgentPair, BothControlledAlsoResolves) {
  Side a(Role::Controlled, 3, "10.0.0.1:5000");
  Side b(Role::Controlled, 4, "10.0.0.2:6000");
  exchange(a, b);
  ASSERT_TRUE(run_until(a, b, [&] { return completed(a) && completed(b); }));
  EXPECT_NE(a.agent.role(), b.agent.role());
}

TEST_F(AgentPair, ConsentLossIsDetectedWithinThirtySeconds) {
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  Side b(Role::Controlled, 2, "10.0.0.2:6000");
  exchange(a, b);
  ASSERT_TRUE(run_until(a, b, [&] { return completed(a) && completed(b); }));
  const TimePoint cut = now;
  drop = [](const Transmit&) { return true; }; // b vanishes (and so does a, to b)
  ASSERT_TRUE(run_until(a, b, [&] { return a.agent.state() == IceState::Failed; }))
      << "state " << to_string(a.agent.state()) << " after " << to_ms(now - cut) << " ms";
  EXPECT_LE(now - cut, seconds(30) + milliseconds(10));
  EXPECT_GE(now - cut, seconds(25));
  EXPECT_NE(std::find(a.states.begin(), a.states.end(), IceState::Disconnected), a.states.end())
      << "disconnected is reported before consent expires";
}

TEST_F(AgentPair, StaysConnectedForMinutesWithConsent) {
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  Side b(Role::Controlled, 2, "10.0.0.2:6000");
  exchange(a, b);
  ASSERT_TRUE(run_until(a, b, [&] { return completed(a) && completed(b); }));
  const TimePoint start = now;
  run_until(a, b, [&] { return now - start > seconds(300); });
  EXPECT_EQ(a.agent.state(), IceState::Completed);
  EXPECT_EQ(b.agent.state(), IceState::Completed);
}

TEST_F(AgentPair, EarlyChecksBeforeRemoteCredentialsStillConnect) {
  // b learns a's credentials and candidates, but a hears of b only later (the answer is slow).
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  Side b(Role::Controlled, 2, "10.0.0.2:6000");
  a.agent.gather(now);
  b.agent.gather(now);
  drain(a);
  drain(b);
  b.agent.set_remote_credentials(now, a.agent.local_credentials().ufrag,
                                 a.agent.local_credentials().pwd);
  for (const auto& c : a.candidates)
    b.agent.add_remote_candidate(now, c);
  deliver(a, b); // b's checks reach a, which answers but cannot check back yet
  EXPECT_EQ(a.agent.pair_count(), 1u) << "a learnt b as peer-reflexive";
  now += milliseconds(500);
  a.agent.set_remote_credentials(now, b.agent.local_credentials().ufrag,
                                 b.agent.local_credentials().pwd);
  for (const auto& c : b.candidates)
    a.agent.add_remote_candidate(now, c);
  ASSERT_TRUE(run_until(a, b, [&] { return completed(a) && completed(b); }));
}

TEST_F(AgentPair, ChecksWithWrongPasswordAreRefused) {
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  Side b(Role::Controlled, 2, "10.0.0.2:6000");
  a.agent.gather(now);
  b.agent.gather(now);
  drain(a);
  drain(b);
  a.agent.set_remote_credentials(now, b.agent.local_credentials().ufrag, "not-the-password-at-all");
  b.agent.set_remote_credentials(now, a.agent.local_credentials().ufrag,
                                 a.agent.local_credentials().pwd);
  for (const auto& c : b.candidates)
    a.agent.add_remote_candidate(now, c);
  deliver(a, b);
  EXPECT_GE(b.agent.stats().dropped_bad_integrity, 1u);
  EXPECT_EQ(b.agent.pair_count(), 0u) << "unauthenticated checks teach nothing";
}

TEST_F(AgentPair, UnreachablePeerFailsAfterChecksExhaust) {
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  Side b(Role::Controlled, 2, "10.0.0.2:6000");
  drop = [](const Transmit&) { return true; };
  exchange(a, b);
  a.agent.set_remote_gathering_complete(now);
  const TimePoint start = now;
  ASSERT_TRUE(run_until(a, b, [&] { return a.agent.state() == IceState::Failed; }));
  EXPECT_LT(now - start, seconds(20));
}

TEST_F(AgentPair, IceRestartMovesToANewPairWithoutDroppingTheOldOne) {
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  Side b(Role::Controlled, 2, "10.0.0.2:6000");
  exchange(a, b);
  ASSERT_TRUE(run_until(a, b, [&] { return completed(a) && completed(b); }));
  const auto old_ufrag = a.agent.local_credentials().ufrag;
  a.candidates.clear();
  b.candidates.clear();
  a.agent.restart(now);
  drain(a);
  EXPECT_NE(a.agent.local_credentials().ufrag, old_ufrag);
  EXPECT_TRUE(a.agent.selected_pair()) << "data keeps flowing on the old pair meanwhile";
  b.agent.restart(now); // the answer to an ICE-restart offer carries new credentials too
  drain(b);
  a.agent.set_remote_credentials(now, b.agent.local_credentials().ufrag,
                                 b.agent.local_credentials().pwd);
  b.agent.set_remote_credentials(now, a.agent.local_credentials().ufrag,
                                 a.agent.local_credentials().pwd);
  for (const auto& c : b.candidates)
    a.agent.add_remote_candidate(now, c);
  for (const auto& c : a.candidates)
    b.agent.add_remote_candidate(now, c);
  ASSERT_TRUE(run_until(a, b, [&] { return completed(a) && completed(b); }));
  EXPECT_EQ(a.agent.selected_pair()->remote, b.local);
}

TEST_F(AgentPair, GarbageNeverCrashesAndIsCounted) {
  Side a(Role::Controlling, 1, "10.0.0.1:5000");
  SeededRng noise(9);
  for (int i = 0; i < 2000; ++i) {
    Bytes junk = noise.bytes(noise.uniform(120));
    if (junk.size() >= 8) { // make some of it look like STUN
      junk[0] &= 0x3F;
      junk[4] = 0x21, junk[5] = 0x12, junk[6] = 0xA4, junk[7] = 0x42;
    }
    a.agent.handle_datagram(now, a.local, *SocketAddress::parse("10.9.9.9:9"), junk);
  }
  EXPECT_GT(a.agent.stats().dropped_malformed, 0u);
  EXPECT_EQ(a.agent.pair_count(), 0u);
}

} // namespace
} // namespace posthorn::ice
