// Remote host candidates behind mDNS names, as browsers signal them: the connection asks its
// driver to resolve each name once, holds the candidates (and the end-of-candidates) meanwhile,
// and connects with the resolved address. Both peers hide their addresses here, so that nothing
// can connect through peer-reflexive discovery before a name is resolved.
#include "rtc/peer_connection.hpp"

#include "core/overloaded.hpp"
#include "ice/mdns_errc.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>

namespace posthorn::rtc {
namespace {

struct HiddenPeer {
  HiddenPeer(std::uint64_t seed, std::string address, std::string name)
      : rng(seed), pc(Configuration{}, rng), local(*SocketAddress::parse(address)),
        name(std::move(name)) {
    pc.add_local_socket(local);
  }
  SeededRng rng;
  PeerConnection pc;
  SocketAddress local;
  std::string name; // what this peer signals instead of its IP
  bool open = false;
};

// "candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host" → "... <name> 5000 typ host".
std::string hide(std::string candidate, const HiddenPeer& peer) {
  const auto ip = peer.local.ip().to_string();
  if (auto at = candidate.find(" " + ip + " "); at != std::string::npos)
    candidate.replace(at + 1, ip.size(), peer.name);
  return candidate;
}

class PeerConnectionMdns : public ::testing::Test {
protected:
  TimePoint now = TimePoint{} + seconds(1000);
  HiddenPeer a{1, "10.0.0.1:5000", "4a1f3c9e-1111-4d2b-9a55-0123456789ab.local"};
  HiddenPeer b{2, "10.0.0.2:6000", "b7c2d410-2222-4e3c-8b66-0123456789ab.local"};
  std::size_t datagrams = 0;

  void drain(HiddenPeer& self, HiddenPeer& other) {
    while (auto e = self.pc.poll_event()) {
      std::visit(overloaded{
                     [&](event::LocalCandidate& c) {
                       ASSERT_TRUE(other.pc.add_remote_candidate(now, hide(c.candidate, self)));
                     },
                     [&](event::DataChannelOpen&) { self.open = true; },
                     [](auto&) {},
                 },
                 *e);
    }
  }

  void deliver() {
    for (bool moved = true; moved;) {
      moved = false;
      for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        while (auto t = from->pc.poll_transmit()) {
          moved = true;
          ++datagrams;
          if (t->remote == to->local) to->pc.handle_datagram(now, to->local, t->local, t->payload);
        }
        drain(*from, *to);
      }
    }
  }

  void run_for(Duration d) {
    const auto end = now + d;
    while (now < end) {
      deliver();
      auto next = a.pc.poll_timeout();
      auto nb = b.pc.poll_timeout();
      if (!next || (nb && *nb < *next)) next = nb;
      if (!next || *next > end) break;
      now = std::max(now, *next);
      a.pc.handle_timeout(now);
      b.pc.handle_timeout(now);
    }
    now = end;
    deliver();
  }

  void negotiate() {
    ASSERT_TRUE(a.pc.create_data_channel({.label = "data"}));
    auto offer = a.pc.create_offer();
    ASSERT_TRUE(offer);
    ASSERT_TRUE(a.pc.set_local_description(now, *offer));
    ASSERT_TRUE(b.pc.set_remote_description(now, *offer));
    auto answer = b.pc.create_answer();
    ASSERT_TRUE(answer);
    ASSERT_TRUE(b.pc.set_local_description(now, *answer));
    ASSERT_TRUE(a.pc.set_remote_description(now, *answer));
  }

  static std::vector<std::string> queries(PeerConnection& pc) {
    std::vector<std::string> out;
    while (auto q = pc.poll_mdns_query())
      out.push_back(std::move(*q));
    return out;
  }
};

TEST_F(PeerConnectionMdns, CandidatesWaitForTheirNameThenConnect) {
  negotiate();
  run_for(seconds(2));
  // Each side asked for the other's name exactly once, and nothing could be checked yet.
  EXPECT_EQ(queries(a.pc), std::vector<std::string>{b.name});
  EXPECT_EQ(queries(b.pc), std::vector<std::string>{a.name});
  EXPECT_EQ(datagrams, 0u);
  EXPECT_FALSE(a.open);
  EXPECT_NE(a.pc.connection_state(), ConnectionState::Connected);

  // One resolved side is enough: its checks make it peer-reflexive for the other.
  a.pc.handle_mdns_resolved(now, b.name, b.local.ip());
  run_for(seconds(2));
  EXPECT_TRUE(a.open);
  EXPECT_TRUE(b.open);
  EXPECT_EQ(a.pc.selected_pair()->remote, b.local);
}

TEST_F(PeerConnectionMdns, NamesCompareCaseInsensitivelyAndAreAskedOnce) {
  negotiate();
  run_for(milliseconds(10));
  ASSERT_EQ(queries(a.pc).size(), 1u);
  // The same name again (upper case, absolute form) while the first query is out: no new query.
  std::string upper = b.name;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_TRUE(
      a.pc.add_remote_candidate(now, "candidate:9 1 udp 2122194687 " + upper + ". 6001 typ host"));
  EXPECT_TRUE(queries(a.pc).empty());
  a.pc.handle_mdns_resolved(now, upper, b.local.ip());
  // Once resolved, a later candidate with that name needs no query at all.
  ASSERT_TRUE(
      a.pc.add_remote_candidate(now, "candidate:8 1 udp 2122194686 " + b.name + " 6002 typ host"));
  EXPECT_TRUE(queries(a.pc).empty());
}

TEST_F(PeerConnectionMdns, AnUnresolvedNameIsCountedAndTheOtherSideCanStillConnect) {
  negotiate();
  run_for(milliseconds(10));
  (void)queries(a.pc);
  (void)queries(b.pc);
  a.pc.handle_mdns_resolved(now, b.name, result<IpAddress>(ice::mdns::Errc::TimedOut));
  EXPECT_EQ(a.pc.stats().mdns_names_unresolved, 1u);
  // b resolves a's name: its checks reach a, which answers and learns b as peer-reflexive.
  b.pc.handle_mdns_resolved(now, a.name, a.local.ip());
  run_for(seconds(3));
  EXPECT_TRUE(a.open);
  EXPECT_TRUE(b.open);
}

TEST_F(PeerConnectionMdns, EndOfCandidatesWaitsForPendingNames) {
  negotiate();
  ASSERT_TRUE(a.pc.add_remote_candidate(now, ""));
  run_for(milliseconds(10));
  (void)queries(a.pc);
  // Without the deferral, "all pairs failed + remote gathering complete" could fail ICE while
  // the only candidates are still waiting for their address.
  run_for(seconds(8));
  EXPECT_NE(a.pc.connection_state(), ConnectionState::Failed);
  a.pc.handle_mdns_resolved(now, b.name, b.local.ip());
  run_for(seconds(2));
  EXPECT_TRUE(a.open);
}

TEST_F(PeerConnectionMdns, AHostileFloodOfNamesIsBounded) {
  negotiate();
  run_for(milliseconds(10));
  (void)queries(a.pc);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(a.pc.add_remote_candidate(now, "candidate:" + std::to_string(i) +
                                                   " 1 udp 2122194687 flood-" + std::to_string(i) +
                                                   ".local 7000 typ host"));
  }
  const auto asked = queries(a.pc).size();
  EXPECT_LE(asked, 16u);
  EXPECT_GE(a.pc.stats().dropped_mdns_candidates, 100u - asked);
  // An answer for a name never asked about changes nothing.
  a.pc.handle_mdns_resolved(now, "never-asked.local", b.local.ip());
  EXPECT_EQ(a.pc.stats().mdns_names_unresolved, 0u);
}

} // namespace
} // namespace posthorn::rtc
