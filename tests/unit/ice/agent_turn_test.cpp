// The ICE agent with TURN servers (RFC 8656 + RFC 8445 §5.1.1.2) against a scripted server: the
// test decodes what the agent sends on its TURN links and answers with hand-built responses
// (turn_test_harness.hpp), on a virtual clock.
#include "ice/agent.hpp"
#include "ice/turn_errc.hpp"
#include "turn_test_harness.hpp"

#include "core/overloaded.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace posthorn::ice {
namespace {

using test::kMapped;
using test::kPeer;
using test::kRelayed;
using test::kServer;
using test::TurnHarness;

const SocketAddress kLocal = *SocketAddress::parse("10.0.0.2:5000");
const SocketAddress kStun = *SocketAddress::parse("192.0.2.9:3478");
constexpr std::string_view kRemoteUfrag = "rufr";
constexpr std::string_view kRemotePwd = "remote-password-remote-pw";

AgentConfig config_with(std::vector<TurnServerConfig> servers,
                        IceTransportPolicy policy = IceTransportPolicy::All) {
  AgentConfig c;
  c.role = Role::Controlling;
  c.turn_servers = std::move(servers);
  c.transport_policy = policy;
  return c;
}

Candidate remote_host(const SocketAddress& a) {
  Candidate c;
  c.foundation = "rf1";
  c.priority = compute_priority(type_preference(CandidateType::Host), 65535, 1);
  c.address = a.ip().to_string();
  c.port = a.port();
  c.type = CandidateType::Host;
  return c;
}

class AgentTurn : public ::testing::Test {
protected:
  void make(AgentConfig config) {
    agent = std::make_unique<Agent>(std::move(config), rng);
    agent->add_local_socket(kLocal);
  }

  void pump() {
    while (auto t = agent->poll_transmit())
      sent.push_back(std::move(*t));
    while (auto e = agent->poll_event()) {
      std::visit(overloaded{
                     [&](event::LocalCandidate& c) { candidates.push_back(c.candidate); },
                     [&](event::GatheringComplete&) { ++gathering_complete; },
                     [&](event::StateChanged& s) { states.push_back(s.state); },
                     [&](event::SelectedPairChanged& p) { selections.push_back(p.pair); },
                     [&](event::RoleChanged&) {},
                 },
                 *e);
    }
    while (auto e = agent->poll_candidate_error())
      errors.push_back(std::move(*e));
  }

  /// Takes the pending transmits that go on TURN links.
  std::vector<Transmit> take_turn() {
    pump();
    std::vector<Transmit> out;
    std::erase_if(sent, [&](Transmit& t) {
      if (!t.turn) return false;
      out.push_back(std::move(t));
      return true;
    });
    return out;
  }
  /// The single pending TURN transmit, decoded as STUN.
  StunMessage turn_request() {
    auto all = take_turn();
    EXPECT_EQ(all.size(), 1u) << "expected exactly one TURN transmit";
    if (all.empty()) return StunMessage(StunClass::Request, StunMethod::Binding, {});
    link = *all.front().turn;
    auto msg = StunMessage::decode(all.front().payload);
    EXPECT_TRUE(msg) << "TURN transmit is not STUN";
    return msg ? *msg : StunMessage(StunClass::Request, StunMethod::Binding, {});
  }
  void deliver(ByteView bytes) {
    agent->handle_turn_bytes(now, link.id, bytes);
    pump();
  }
  /// gather() and the 401 handshake up to Allocated.
  void gather_and_allocate(std::uint32_t lifetime = 600) {
    agent->gather(now);
    auto first = turn_request();
    deliver(TurnHarness::challenge(first));
    auto second = turn_request();
    ASSERT_TRUE(second.is(StunClass::Request, StunMethod::Allocate));
    deliver(server.allocate_success(second, lifetime));
  }
  std::vector<Candidate> candidates_of(CandidateType type) const {
    std::vector<Candidate> out;
    std::copy_if(candidates.begin(), candidates.end(), std::back_inserter(out),
                 [&](const Candidate& c) { return c.type == type; });
    return out;
  }
  /// A Binding check as the remote agent would send it to our relayed address.
  Bytes remote_check(TransactionId id) const {
    StunMessage m(StunClass::Request, StunMethod::Binding, id);
    m.add_string(stun_attr::kUsername,
                 agent->local_credentials().ufrag + ":" + std::string(kRemoteUfrag));
    m.add_u32(stun_attr::kPriority, 12345);
    m.add_u64(stun_attr::kIceControlled, 7);
    return m.encode(as_bytes(agent->local_credentials().pwd), true);
  }
  static Bytes check_success(const StunMessage& check, const SocketAddress& mapped) {
    StunMessage r(StunClass::SuccessResponse, StunMethod::Binding, check.transaction_id());
    r.add_xor_address(stun_attr::kXorMappedAddress, mapped);
    return r.encode(as_bytes(kRemotePwd), true);
  }
  /// The STUN message inside a Send indication sent to `peer`.
  static std::optional<StunMessage> inner_stun(const StunMessage& send, const SocketAddress& peer) {
    if (!send.is(StunClass::Indication, StunMethod::Send)) return std::nullopt;
    if (send.xor_address(stun_attr::kXorPeerAddress) != peer) return std::nullopt;
    const auto* data = send.find(stun_attr::kData);
    if (!data) return std::nullopt;
    auto inner = StunMessage::decode(data->value);
    if (!inner) return std::nullopt;
    return *inner;
  }
  static Bytes data_indication(const SocketAddress& from, ByteView data) {
    TransactionId id{};
    id[0] = 9;
    StunMessage m(StunClass::Indication, StunMethod::Data, id);
    m.add_xor_address(stun_attr::kXorPeerAddress, from);
    m.add(stun_attr::kData, data);
    return m.encode();
  }
  /// Remote credentials and one remote host candidate at kPeer; answers the CreatePermission.
  void add_remote_and_permit() {
    agent->set_remote_credentials(now, std::string(kRemoteUfrag), std::string(kRemotePwd));
    ASSERT_TRUE(agent->add_remote_candidate(now, remote_host(kPeer)));
    auto perm = turn_request();
    ASSERT_TRUE(perm.is(StunClass::Request, StunMethod::CreatePermission));
    EXPECT_EQ(perm.xor_address(stun_attr::kXorPeerAddress)->ip(), kPeer.ip());
    deliver(server.success(perm));
  }

  SeededRng rng{7};
  TimePoint now = TimePoint{} + seconds(1000);
  std::unique_ptr<Agent> agent;
  TurnHarness server; // only its message builders and key
  TurnLink link;
  std::vector<Transmit> sent;
  std::vector<Candidate> candidates;
  std::vector<SelectedPair> selections;
  std::vector<IceState> states;
  std::vector<CandidateError> errors;
  int gathering_complete = 0;
};

TEST_F(AgentTurn, AllocateGoesOnTheTurnLinkFromTheHostBase) {
  make(config_with({test::default_config()}));
  agent->gather(now);
  auto transmits = take_turn();
  ASSERT_EQ(transmits.size(), 1u);
  EXPECT_EQ(transmits[0].local, kLocal);
  EXPECT_EQ(transmits[0].remote, kServer);
  EXPECT_EQ(transmits[0].turn->transport, TurnTransport::Udp);
  EXPECT_NE(transmits[0].turn->id, 0u);
  auto msg = StunMessage::decode(transmits[0].payload);
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->is(StunClass::Request, StunMethod::Allocate));
  EXPECT_EQ(candidates_of(CandidateType::Host).size(), 1u);
  EXPECT_EQ(gathering_complete, 0) << "gathering waits for the allocation";
}

TEST_F(AgentTurn, AllocatedBecomesARelayCandidateThenGatheringCompletes) {
  make(config_with({test::default_config()}));
  gather_and_allocate();
  auto relays = candidates_of(CandidateType::Relayed);
  ASSERT_EQ(relays.size(), 1u);
  const auto& c = relays[0];
  EXPECT_EQ(c.socket_address(), kRelayed);
  EXPECT_EQ(c.priority >> 24, 0u) << "RFC 8445 §5.1.2.2: type preference 0";
  EXPECT_EQ(c.related_address, kMapped.ip().to_string());
  EXPECT_EQ(c.related_port, kMapped.port());
  EXPECT_NE(c.foundation, candidates_of(CandidateType::Host).at(0).foundation);
  EXPECT_EQ(c.extension("ufrag"), agent->local_credentials().ufrag);
  EXPECT_EQ(gathering_complete, 1);
  EXPECT_EQ(agent->stats().turn_allocations, 1u);
  EXPECT_TRUE(errors.empty());
  // The text form round-trips as signaling carries it.
  EXPECT_EQ(Candidate::parse(c.to_string()).value(), c);
}

TEST_F(AgentTurn, EachServerAndTransportHasItsOwnFoundationAndUdpRanksFirst) {
  auto tcp = test::default_config(TurnTransport::Tcp);
  make(config_with({test::default_config(), tcp, test::default_config()}));
  agent->gather(now);
  auto transmits = take_turn();
  ASSERT_EQ(transmits.size(), 2u) << "the duplicate entry is used once";
  EXPECT_NE(transmits[0].turn->id, transmits[1].turn->id);
  for (auto& t : transmits) {
    link = *t.turn;
    deliver(TurnHarness::challenge(*StunMessage::decode(t.payload)));
    deliver(server.allocate_success(turn_request()));
  }
  auto relays = candidates_of(CandidateType::Relayed);
  ASSERT_EQ(relays.size(), 2u);
  EXPECT_NE(relays[0].foundation, relays[1].foundation);
  EXPECT_GT(relays[0].priority, relays[1].priority) << "relay over UDP before relay over TCP";
  EXPECT_EQ(gathering_complete, 1);
}

TEST_F(AgentTurn, BadCredentialsEndThatServersGatheringWithAClearError) {
  make(config_with({test::default_config()}));
  agent->gather(now);
  deliver(TurnHarness::challenge(turn_request()));
  deliver(TurnHarness::challenge(turn_request(), 401, "nonce-2"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].url, "turn:192.0.2.1:3478?transport=udp");
  EXPECT_EQ(errors[0].code, 401);
  EXPECT_EQ(errors[0].error, TurnErrc::Unauthorized);
  EXPECT_NE(errors[0].text.find("401 Unauthorized: bad credentials"), std::string::npos)
      << errors[0].text;
  EXPECT_EQ(gathering_complete, 1);
  EXPECT_TRUE(candidates_of(CandidateType::Relayed).empty());
  EXPECT_EQ(agent->stats().turn_allocations_failed, 1u);
  EXPECT_EQ(agent->state(), IceState::New) << "policy all: host candidates carry on";
}

TEST_F(AgentTurn, RelayPolicyFailsAtOnceWhenNoRelayCanBeAllocated) {
  make(config_with({test::default_config()}, IceTransportPolicy::Relay));
  agent->gather(now);
  deliver(TurnHarness::challenge(turn_request()));
  deliver(TurnHarness::challenge(turn_request(), 401, "nonce-2"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(gathering_complete, 1);
  EXPECT_EQ(agent->state(), IceState::Failed) << "nothing can connect: no hang";
  EXPECT_TRUE(candidates.empty());
}

TEST_F(AgentTurn, RelayPolicySignalsOnlyTheRelayCandidateAndSkipsStun) {
  auto config = config_with({test::default_config()}, IceTransportPolicy::Relay);
  config.stun_servers = {kStun};
  make(config);
  gather_and_allocate();
  pump();
  ASSERT_EQ(candidates.size(), 1u);
  EXPECT_EQ(candidates[0].type, CandidateType::Relayed);
  EXPECT_EQ(candidates[0].related_address, "0.0.0.0") << "raddr would reveal our address";
  EXPECT_EQ(candidates[0].related_port, 0);
  EXPECT_TRUE(std::none_of(sent.begin(), sent.end(), [](const Transmit& t) {
    return t.remote == kStun;
  })) << "no STUN server query under relay policy";
  EXPECT_EQ(gathering_complete, 1);

  // A check that reaches the host socket directly is neither answered nor learnt from.
  agent->set_remote_credentials(now, std::string(kRemoteUfrag), std::string(kRemotePwd));
  TransactionId id{};
  id[1] = 1;
  agent->handle_datagram(now, kLocal, kPeer, remote_check(id));
  pump();
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(agent->stats().dropped_by_policy, 1u);
  EXPECT_EQ(agent->pair_count(), 0u);
}

TEST_F(AgentTurn, RelayPolicyPairsOnlyTheRelayedBase) {
  make(config_with({test::default_config()}, IceTransportPolicy::Relay));
  gather_and_allocate();
  add_remote_and_permit();
  EXPECT_EQ(agent->pair_count(), 1u);
  pump();
  EXPECT_TRUE(std::all_of(sent.begin(), sent.end(), [](const Transmit& t) { return t.turn; }))
      << "nothing leaves the host socket but TURN traffic";
}

TEST_F(AgentTurn, ChecksOnTheRelayedPairTravelThroughTheTurnClient) {
  make(config_with({test::default_config()}));
  gather_and_allocate();
  add_remote_and_permit();
  // The host pair ranks first; the relayed pair's check follows one pacing interval later, as a
  // Send indication now that the permission is installed.
  now += IceTiming{}.pacing;
  agent->handle_timeout(now);
  std::optional<StunMessage> check;
  bool channel_bind = false;
  for (auto& t : take_turn()) {
    auto msg = StunMessage::decode(t.payload);
    ASSERT_TRUE(msg);
    if (auto inner = inner_stun(*msg, kPeer)) check = inner;
    channel_bind |= msg->is(StunClass::Request, StunMethod::ChannelBind);
  }
  ASSERT_TRUE(check) << "a Send indication carrying the check to the peer";
  EXPECT_TRUE(channel_bind) << "and a channel for what follows (RFC 8656 §12)";
  EXPECT_TRUE(check->is(StunClass::Request, StunMethod::Binding));
  EXPECT_EQ(check->string(stun_attr::kUsername),
            std::string(kRemoteUfrag) + ":" + agent->local_credentials().ufrag);
  EXPECT_TRUE(check->check_integrity(as_bytes(kRemotePwd)));
  // The host pair's check leaves from the socket directly.
  EXPECT_TRUE(std::any_of(sent.begin(), sent.end(), [](const Transmit& t) {
    return !t.turn && t.local == kLocal && t.remote == kPeer;
  }));

  deliver(data_indication(kPeer, check_success(*check, kRelayed)));
  ASSERT_FALSE(selections.empty());
  EXPECT_EQ(selections.back().local, kRelayed);
  EXPECT_EQ(selections.back().local_type, CandidateType::Relayed);
  EXPECT_EQ(selections.back().remote, kPeer);
  EXPECT_EQ(agent->state(), IceState::Connected);
  EXPECT_TRUE(agent->is_permitted_source(kRelayed, kPeer));
}

TEST_F(AgentTurn, ChecksArrivingThroughTheRelayAreAnsweredThroughIt) {
  make(config_with({test::default_config()}, IceTransportPolicy::Relay));
  gather_and_allocate();
  add_remote_and_permit();
  (void)take_turn(); // our own check
  TransactionId id{};
  id[2] = 2;
  deliver(data_indication(kPeer, remote_check(id)));
  EXPECT_EQ(agent->stats().checks_received, 1u);
  bool answered = false;
  for (auto& t : take_turn()) {
    auto msg = StunMessage::decode(t.payload);
    if (!msg) continue;
    auto inner = inner_stun(*msg, kPeer);
    if (inner && inner->is(StunClass::SuccessResponse, StunMethod::Binding) &&
        inner->transaction_id() == id) {
      answered = true;
      EXPECT_EQ(inner->xor_address(stun_attr::kXorMappedAddress), kPeer);
    }
  }
  EXPECT_TRUE(answered);
}

TEST_F(AgentTurn, DataOnARelayedPairGoesOutAndComesBackThroughTheRelay) {
  make(config_with({test::default_config()}, IceTransportPolicy::Relay));
  gather_and_allocate();
  add_remote_and_permit();
  auto check = inner_stun(turn_request(), kPeer);
  ASSERT_TRUE(check);
  deliver(data_indication(kPeer, check_success(*check, kRelayed)));
  (void)take_turn();

  const Bytes dtls = {22, 254, 253, 0, 1, 2, 3};
  ASSERT_TRUE(agent->send_relayed(now, kRelayed, kPeer, dtls));
  auto out = take_turn();
  ASSERT_FALSE(out.empty());
  bool found = false;
  for (auto& t : out) {
    auto msg = StunMessage::decode(t.payload);
    if (msg && msg->is(StunClass::Indication, StunMethod::Send)) {
      EXPECT_EQ(to_hex(msg->find(stun_attr::kData)->value), to_hex(dtls));
      found = true;
    }
  }
  EXPECT_TRUE(found);

  deliver(data_indication(kPeer, dtls));
  auto in = agent->poll_relayed();
  ASSERT_TRUE(in);
  EXPECT_EQ(in->local, kRelayed);
  EXPECT_EQ(in->remote, kPeer);
  EXPECT_EQ(in->data, dtls);
  EXPECT_FALSE(agent->poll_relayed());

  EXPECT_EQ(agent->send_relayed(now, kLocal, kPeer, dtls).error(), TurnErrc::NotAllocated);
}

TEST_F(AgentTurn, PermissionsFollowRemoteCandidatesLearntBeforeTheAllocation) {
  make(config_with({test::default_config()}));
  agent->gather(now);
  auto first = turn_request();
  agent->set_remote_credentials(now, std::string(kRemoteUfrag), std::string(kRemotePwd));
  ASSERT_TRUE(agent->add_remote_candidate(now, remote_host(kPeer)));
  deliver(TurnHarness::challenge(first));
  deliver(server.allocate_success(turn_request()));
  auto perm = turn_request();
  EXPECT_TRUE(perm.is(StunClass::Request, StunMethod::CreatePermission));
  EXPECT_EQ(perm.xor_address(stun_attr::kXorPeerAddress)->ip(), kPeer.ip());
  EXPECT_EQ(agent->pair_count(), 2u) << "the host pair and, now, the relayed pair";
}

TEST_F(AgentTurn, TcpLinkCarriesStreamBytesInAnyChunking) {
  make(config_with({test::default_config(TurnTransport::Tcp)}));
  agent->gather(now);
  auto first = turn_request();
  EXPECT_EQ(link.transport, TurnTransport::Tcp);
  auto challenge = TurnHarness::challenge(first);
  // One byte at a time: the TURN client reassembles the stream.
  for (auto b : challenge)
    agent->handle_turn_bytes(now, link.id, ByteView(&b, 1));
  auto second = turn_request();
  ASSERT_TRUE(second.is(StunClass::Request, StunMethod::Allocate));
  deliver(server.allocate_success(second));
  EXPECT_EQ(candidates_of(CandidateType::Relayed).size(), 1u);
}

TEST_F(AgentTurn, ClosedTcpConnectionIsACandidateErrorNotAHang) {
  make(config_with({test::default_config(TurnTransport::Tcp)}));
  agent->gather(now);
  (void)turn_request();
  agent->handle_turn_closed(now, link.id);
  pump();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, 701);
  EXPECT_EQ(errors[0].error, TurnErrc::ConnectionClosed);
  EXPECT_EQ(gathering_complete, 1);
}

TEST_F(AgentTurn, IcmpUnreachableFailsAUdpAllocationInProgressOnly) {
  make(config_with({test::default_config()}));
  agent->gather(now);
  (void)turn_request();
  agent->handle_turn_closed(now, link.id);
  pump();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].text.find("unreachable"), std::string::npos) << errors[0].text;

  // Once allocated, a stray ICMP error does not tear the allocation down.
  sent.clear();
  errors.clear();
  make(config_with({test::default_config()}));
  gather_and_allocate();
  agent->handle_turn_closed(now, link.id);
  pump();
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(agent->turn_client(link.id)->state(), TurnState::Allocated);
}

TEST_F(AgentTurn, UnreachableServerFamilyIsReportedAtOnce) {
  auto v6 = test::default_config();
  v6.server = *SocketAddress::parse("[2001:db8::1]:3478");
  make(config_with({v6}));
  agent->gather(now);
  pump();
  EXPECT_TRUE(take_turn().empty());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, 701);
  EXPECT_EQ(gathering_complete, 1);
}

TEST_F(AgentTurn, AllocateIsRetransmittedOnTheAgentsTimer) {
  make(config_with({test::default_config()}));
  agent->gather(now);
  auto first = turn_request();
  auto deadline = agent->poll_timeout();
  ASSERT_TRUE(deadline);
  now = *deadline;
  agent->handle_timeout(now);
  auto again = turn_request();
  EXPECT_EQ(again.transaction_id(), first.transaction_id());
}

TEST_F(AgentTurn, CloseReleasesTheAllocation) {
  make(config_with({test::default_config()}));
  gather_and_allocate();
  agent->close(now);
  auto refresh = turn_request();
  EXPECT_TRUE(refresh.is(StunClass::Request, StunMethod::Refresh));
  EXPECT_EQ(refresh.u32(stun_attr::kLifetime), 0u);
  EXPECT_EQ(agent->state(), IceState::Closed);
  EXPECT_FALSE(agent->poll_timeout());
}

TEST_F(AgentTurn, RestartKeepsTheAllocationAndResignalsItsCandidate) {
  make(config_with({test::default_config()}));
  gather_and_allocate();
  const auto old_ufrag = agent->local_credentials().ufrag;
  candidates.clear();
  agent->restart(now);
  pump();
  EXPECT_TRUE(take_turn().empty()) << "no new Allocate";
  auto relays = candidates_of(CandidateType::Relayed);
  ASSERT_EQ(relays.size(), 1u);
  EXPECT_EQ(relays[0].socket_address(), kRelayed);
  EXPECT_NE(relays[0].extension("ufrag"), old_ufrag);
  EXPECT_EQ(gathering_complete, 2);
}

TEST_F(AgentTurn, RestartRetriesAFailedAllocationOnANewLink) {
  make(config_with({test::default_config()}));
  agent->gather(now);
  deliver(TurnHarness::challenge(turn_request()));
  deliver(TurnHarness::challenge(turn_request(), 401, "nonce-2"));
  const auto old_link = link.id;
  agent->restart(now);
  auto first = turn_request();
  EXPECT_TRUE(first.is(StunClass::Request, StunMethod::Allocate));
  EXPECT_NE(link.id, old_link);
  deliver(TurnHarness::challenge(first));
  deliver(server.allocate_success(turn_request()));
  EXPECT_EQ(candidates_of(CandidateType::Relayed).size(), 1u);
}

TEST_F(AgentTurn, LostAllocationFailsItsPairs) {
  make(config_with({test::default_config()}, IceTransportPolicy::Relay));
  gather_and_allocate(10); // refreshed after 5 s
  add_remote_and_permit();
  auto check = inner_stun(turn_request(), kPeer);
  ASSERT_TRUE(check);
  deliver(data_indication(kPeer, check_success(*check, kRelayed)));
  ASSERT_TRUE(agent->selected_pair());
  (void)take_turn();
  // The server refuses the refresh: the allocation is gone.
  now += seconds(5);
  agent->handle_timeout(now);
  StunMessage refresh(StunClass::Request, StunMethod::Binding, {});
  for (auto& t : take_turn()) {
    auto msg = StunMessage::decode(t.payload);
    if (msg && msg->is(StunClass::Request, StunMethod::Refresh)) refresh = *msg;
  }
  ASSERT_TRUE(refresh.is(StunClass::Request, StunMethod::Refresh));
  deliver(server.error(refresh, 437, "Allocation Mismatch"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].text.find("allocation lost"), std::string::npos) << errors[0].text;
  EXPECT_FALSE(agent->is_permitted_source(kRelayed, kPeer));
  EXPECT_EQ(agent->send_relayed(now, kRelayed, kPeer, Bytes{22}).error(), TurnErrc::Closed);
}

TEST_F(AgentTurn, UnusableServerConfigIsRefusedAtConstruction) {
  auto bad = test::default_config();
  bad.username.clear();
  EXPECT_THROW(Agent(config_with({bad}), rng), std::invalid_argument);
}

} // namespace
} // namespace posthorn::ice
