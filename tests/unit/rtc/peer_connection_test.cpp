// Two PeerConnections wired back to back in memory with a virtual clock: the full stack (our ICE,
// OpenSSL DTLS, usrsctp) negotiated with real SDP. Lossy/NAT scenarios are in tests/sim/.
#include "rtc/peer_connection.hpp"

#include "core/crypto.hpp"
#include "core/overloaded.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace posthorn::rtc {
namespace {

struct Peer {
  Peer(std::uint64_t seed, std::string address)
      : rng(seed), pc(Configuration{}, rng), local(*SocketAddress::parse(address)) {
    pc.add_local_socket(local);
  }
  SeededRng rng;
  PeerConnection pc;
  SocketAddress local;
  std::vector<std::string> candidates;
  std::vector<ChannelInfo> opened;
  std::vector<std::pair<Bytes, bool>> messages;
  std::vector<ChannelId> closed;
  std::vector<ConnectionState> states;
  int low_events = 0;
};

class PeerConnectionPair : public ::testing::Test {
protected:
  TimePoint now = TimePoint{} + seconds(1000);
  Peer a{1, "10.0.0.1:5000"};
  Peer b{2, "10.0.0.2:6000"};
  bool trickle = true;

  void drain(Peer& self, Peer& other) {
    while (auto e = self.pc.poll_event()) {
      std::visit(overloaded{
                     [&](event::LocalCandidate& c) {
                       self.candidates.push_back(c.candidate);
                       if (trickle) {
                         ASSERT_TRUE(other.pc.add_remote_candidate(now, c.candidate, c.mid));
                       }
                     },
                     [&](event::DataChannelOpen& o) { self.opened.push_back(o.channel); },
                     [&](event::DataChannelMessage& m) {
                       self.messages.emplace_back(std::move(m.data), m.binary);
                     },
                     [&](event::DataChannelClosed& c) { self.closed.push_back(c.channel); },
                     [&](event::ConnectionStateChanged& c) { self.states.push_back(c.state); },
                     [&](event::DataChannelBufferedAmountLow&) { ++self.low_events; },
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
          if (t->remote == to->local) to->pc.handle_datagram(now, to->local, t->local, t->payload);
        }
        drain(*from, *to);
      }
    }
  }

  bool run_until(const std::function<bool()>& done, int max_steps = 100000) {
    for (int i = 0; i < max_steps; ++i) {
      deliver();
      if (done()) return true;
      auto next = a.pc.poll_timeout();
      auto nb = b.pc.poll_timeout();
      if (!next || (nb && *nb < *next)) next = nb;
      if (!next) return done();
      now = std::max(now, *next);
      a.pc.handle_timeout(now);
      b.pc.handle_timeout(now);
    }
    return done();
  }

  void negotiate() {
    auto offer = a.pc.create_offer();
    ASSERT_TRUE(offer) << offer.error().message();
    ASSERT_TRUE(a.pc.set_local_description(now, *offer));
    ASSERT_TRUE(b.pc.set_remote_description(now, *offer));
    auto answer = b.pc.create_answer();
    ASSERT_TRUE(answer) << answer.error().message();
    ASSERT_TRUE(b.pc.set_local_description(now, *answer));
    ASSERT_TRUE(a.pc.set_remote_description(now, *answer));
  }

  bool both_connected() {
    return a.pc.connection_state() == ConnectionState::Connected &&
           b.pc.connection_state() == ConnectionState::Connected;
  }
};

TEST_F(PeerConnectionPair, OfferAnswerConnectsAndOpensAChannelBothWays) {
  auto ch = a.pc.create_data_channel({.label = "data"});
  ASSERT_TRUE(ch);
  negotiate();
  ASSERT_TRUE(run_until([&] { return !a.opened.empty() && !b.opened.empty(); }));
  EXPECT_TRUE(both_connected());
  EXPECT_EQ(b.opened[0].label, "data");
  EXPECT_TRUE(b.opened[0].remote);
  EXPECT_EQ(*b.opened[0].stream % 2, 1) << "the offerer is the DTLS server: odd stream ids";

  ASSERT_TRUE(a.pc.send(now, *ch, as_bytes("hello"), false));
  ASSERT_TRUE(run_until([&] { return !b.messages.empty(); }));
  EXPECT_EQ(as_string_view(b.messages[0].first), "hello");
  EXPECT_FALSE(b.messages[0].second);

  Bytes blob = SeededRng(7).bytes(100'000);
  ASSERT_TRUE(b.pc.send(now, b.opened[0].id, blob, true));
  ASSERT_TRUE(run_until([&] { return !a.messages.empty(); }));
  EXPECT_EQ(a.messages[0].first, blob);
  EXPECT_TRUE(a.messages[0].second);
}

TEST_F(PeerConnectionPair, SixteenMebibytesArriveIntact) {
  auto ch = a.pc.create_data_channel({.label = "bulk"});
  negotiate();
  ASSERT_TRUE(run_until([&] { return !a.opened.empty() && !b.opened.empty(); }));
  constexpr std::size_t kTotal = 16 << 20, kChunk = 64 << 10;
  SeededRng pattern(3);
  crypto::Sha256 sent_hash, received_hash;
  std::size_t sent = 0, received = 0;
  a.pc.set_buffered_amount_low_threshold(*ch, 1 << 20);
  auto pump_sender = [&] {
    while (sent < kTotal && a.pc.buffered_amount(*ch) < (4 << 20)) {
      Bytes chunk = pattern.bytes(kChunk);
      auto r = a.pc.send(now, *ch, chunk, true);
      if (!r) break;
      sent_hash.update(chunk);
      sent += kChunk;
    }
  };
  ASSERT_TRUE(run_until([&] {
    pump_sender();
    for (auto& m : b.messages) {
      received += m.first.size();
      received_hash.update(m.first);
    }
    b.messages.clear();
    return received >= kTotal;
  }));
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(sent_hash.finish(), received_hash.finish());
}

TEST_F(PeerConnectionPair, NonTrickleDescriptionsCarryAllCandidates) {
  trickle = false;
  a.pc.create_data_channel({.label = "x"}).value();
  auto offer = a.pc.create_offer().value();
  ASSERT_TRUE(a.pc.set_local_description(now, offer));
  drain(a, b);
  ASSERT_TRUE(a.pc.is_gathering_complete());
  auto full_offer = a.pc.local_description();
  ASSERT_TRUE(full_offer);
  EXPECT_NE(full_offer->sdp.find("a=candidate:"), std::string::npos);
  EXPECT_NE(full_offer->sdp.find("a=end-of-candidates"), std::string::npos);
  ASSERT_TRUE(b.pc.set_remote_description(now, *full_offer));
  ASSERT_TRUE(b.pc.set_local_description(now, b.pc.create_answer().value()));
  drain(b, a);
  ASSERT_TRUE(a.pc.set_remote_description(now, *b.pc.local_description()));
  ASSERT_TRUE(run_until([&] { return !b.opened.empty(); }));
}

TEST_F(PeerConnectionPair, GlareIsResolvedByRollback) {
  // Perfect negotiation: both offer at once; the polite peer (b) rolls back and answers.
  a.pc.create_data_channel({.label = "a"}).value();
  b.pc.create_data_channel({.label = "b"}).value();
  auto offer_a = a.pc.create_offer().value();
  auto offer_b = b.pc.create_offer().value();
  ASSERT_TRUE(a.pc.set_local_description(now, offer_a));
  ASSERT_TRUE(b.pc.set_local_description(now, offer_b));
  ASSERT_TRUE(b.pc.set_local_description(now, {DescriptionType::Rollback, ""}));
  EXPECT_EQ(b.pc.signaling_state(), SignalingState::Stable);
  ASSERT_TRUE(b.pc.set_remote_description(now, offer_a));
  ASSERT_TRUE(b.pc.set_local_description(now, b.pc.create_answer().value()));
  ASSERT_TRUE(a.pc.set_remote_description(now, *b.pc.local_description()));
  ASSERT_TRUE(run_until([&] { return a.opened.size() == 2 && b.opened.size() == 2; }));
}

TEST_F(PeerConnectionPair, ChannelCloseIsSeenByThePeer) {
  auto ch = a.pc.create_data_channel({.label = "c"});
  negotiate();
  ASSERT_TRUE(run_until([&] { return !b.opened.empty(); }));
  a.pc.close_channel(now, *ch);
  ASSERT_TRUE(run_until([&] { return !b.closed.empty() && !a.closed.empty(); }));
}

TEST_F(PeerConnectionPair, CloseReachesThePeerAsClosed) {
  a.pc.create_data_channel({.label = "c"}).value();
  negotiate();
  ASSERT_TRUE(run_until([&] { return !b.opened.empty(); }));
  a.pc.close(now);
  ASSERT_TRUE(run_until([&] { return b.pc.connection_state() == ConnectionState::Closed; }));
  EXPECT_FALSE(b.closed.empty());
}

TEST_F(PeerConnectionPair, WrongFingerprintFailsTheConnection) {
  a.pc.create_data_channel({.label = "c"}).value();
  auto offer = a.pc.create_offer().value();
  ASSERT_TRUE(a.pc.set_local_description(now, offer));
  // Replace a's fingerprint with that of an unrelated certificate (a man in the middle).
  auto forged = offer;
  auto pos = forged.sdp.find("a=fingerprint:sha-256 ") + 22;
  forged.sdp[pos] = forged.sdp[pos] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(b.pc.set_remote_description(now, forged));
  ASSERT_TRUE(b.pc.set_local_description(now, b.pc.create_answer().value()));
  ASSERT_TRUE(a.pc.set_remote_description(now, *b.pc.local_description()));
  ASSERT_TRUE(run_until([&] { return b.pc.connection_state() == ConnectionState::Failed; }));
  EXPECT_TRUE(b.opened.empty());
}

TEST_F(PeerConnectionPair, AnswerToAnAudioVideoOfferRejectsMediaKeepsData) {
  // A browser offer with audio and video before the data section.
  auto offer = a.pc.create_offer().value();
  ASSERT_TRUE(a.pc.set_local_description(now, offer));
  auto sdp = offer.sdp;
  const auto m = sdp.find("m=application");
  sdp.insert(m, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a1\r\n"
                "a=rtpmap:111 opus/48000/2\r\n");
  ASSERT_TRUE(b.pc.set_remote_description(now, {DescriptionType::Offer, sdp}));
  auto answer = b.pc.create_answer().value();
  EXPECT_NE(answer.sdp.find("m=audio 0 UDP/TLS/RTP/SAVPF 111"), std::string::npos) << answer.sdp;
  EXPECT_NE(answer.sdp.find("m=application 9 UDP/DTLS/SCTP webrtc-datachannel"), std::string::npos);
  EXPECT_NE(answer.sdp.find("a=setup:active"), std::string::npos);
}

TEST_F(PeerConnectionPair, SignalingStateMachineRejectsOutOfOrderCalls) {
  auto offer = a.pc.create_offer().value();
  EXPECT_FALSE(a.pc.create_answer()) << "no remote offer";
  EXPECT_FALSE(b.pc.set_remote_description(now, {DescriptionType::Answer, offer.sdp}));
  EXPECT_FALSE(a.pc.set_remote_description(now, {DescriptionType::Offer, "garbage"}));
  EXPECT_EQ(a.pc.signaling_state(), SignalingState::Stable);
}

} // namespace
} // namespace posthorn::rtc
