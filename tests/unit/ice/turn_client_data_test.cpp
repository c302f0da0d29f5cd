// TurnClient data path: permissions (RFC 8656 §9-§10), Send/Data indications (§11), channels and
// ChannelData (§12), their refreshes and their bounds.
#include "ice/turn_errc.hpp"
#include "turn_test_harness.hpp"

#include <gtest/gtest.h>

namespace posthorn::ice {
namespace {

using test::kPeer;
using test::kPeer2;
using test::TurnHarness;

TurnServerConfig without_channels() {
  auto c = test::default_config();
  c.use_channels = false;
  return c;
}

Bytes payload_of_send_indication(const Bytes& wire, SocketAddress* peer = nullptr) {
  auto msg = StunMessage::decode(wire);
  EXPECT_TRUE(msg && msg->is(StunClass::Indication, StunMethod::Send));
  if (!msg) return {};
  if (peer) *peer = *msg->xor_address(stun_attr::kXorPeerAddress);
  return msg->find(stun_attr::kData)->value;
}

TEST(TurnClientData, SendBeforeAllocationIsRefused) {
  TurnHarness h;
  auto r = h.client.send_to(h.now, kPeer, to_bytes("x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), TurnErrc::NotAllocated);
  h.client.start(h.now);
  EXPECT_EQ(h.client.send_to(h.now, kPeer, to_bytes("x")).error(), TurnErrc::NotAllocated);
  EXPECT_EQ(h.client.add_permission(h.now, kPeer.ip()).error(), TurnErrc::NotAllocated);
}

TEST(TurnClientData, FirstSendBindsAChannelAndQueuesUntilItIsBound) {
  TurnHarness h;
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("one")));
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("two")));
  auto bind = h.request(); // one ChannelBind: it installs the permission as well (§12.2)
  EXPECT_TRUE(bind.is(StunClass::Request, StunMethod::ChannelBind));
  EXPECT_EQ(channel_number(bind), kTurnMinChannel);
  EXPECT_EQ(bind.xor_address(stun_attr::kXorPeerAddress), kPeer);
  EXPECT_TRUE(bind.check_integrity(h.key));
  EXPECT_FALSE(h.client.has_permission(kPeer.ip()));

  h.deliver(h.success(bind));
  EXPECT_TRUE(h.client.has_channel(kPeer));
  EXPECT_TRUE(h.client.has_permission(kPeer.ip()));
  auto out = h.transmits();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(to_hex(out[0]), "40000003" + to_hex(to_bytes("one")));
  EXPECT_EQ(to_hex(out[1]), "40000003" + to_hex(to_bytes("two")));

  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("three")));
  EXPECT_EQ(h.transmits().size(), 1u);
  EXPECT_EQ(h.client.stats().channel_data_sent, 3u);
  EXPECT_EQ(h.client.stats().send_indications_sent, 0u);
}

TEST(TurnClientData, WithoutChannelsDataGoesAsSendIndicationsAfterCreatePermission) {
  TurnHarness h(without_channels());
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("hello")));
  auto perm = h.request();
  EXPECT_TRUE(perm.is(StunClass::Request, StunMethod::CreatePermission));
  // RFC 8656 §9: a permission is for an IP; the port is not part of it.
  EXPECT_EQ(perm.xor_address(stun_attr::kXorPeerAddress), SocketAddress(kPeer.ip(), 0));
  EXPECT_TRUE(perm.check_integrity(h.key));
  h.deliver(h.success(perm));
  auto out = h.transmits();
  ASSERT_EQ(out.size(), 1u);
  SocketAddress to;
  EXPECT_EQ(payload_of_send_indication(out[0], &to), to_bytes("hello"));
  EXPECT_EQ(to, kPeer);
  // Another port on the same IP needs no new permission.
  const SocketAddress same_ip(kPeer.ip(), 7000);
  ASSERT_TRUE(h.client.send_to(h.now, same_ip, to_bytes("again")));
  out = h.transmits();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(payload_of_send_indication(out[0], &to), to_bytes("again"));
  EXPECT_EQ(to, same_ip);
  EXPECT_EQ(h.client.stats().send_indications_sent, 2u);
}

TEST(TurnClientData, ExistingPermissionSendsAtOnceAndBindsAChannelAlongside) {
  TurnHarness h;
  h.allocate();
  ASSERT_TRUE(h.client.add_permission(h.now, kPeer.ip()));
  h.deliver(h.success(h.request()));
  EXPECT_TRUE(h.client.has_permission(kPeer.ip()));
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("now")));
  auto out = h.transmits();
  ASSERT_EQ(out.size(), 2u); // the datagram as a Send indication, then the ChannelBind
  EXPECT_EQ(payload_of_send_indication(out[0]), to_bytes("now"));
  auto bind = StunMessage::decode(out[1]);
  ASSERT_TRUE(bind && bind->is(StunClass::Request, StunMethod::ChannelBind));
  h.deliver(h.success(*bind));
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("later")));
  EXPECT_EQ(h.transmits().at(0)[0], 0x40);
}

TEST(TurnClientData, DataIndicationsFromPermittedPeersBecomePeerData) {
  TurnHarness h(without_channels());
  h.allocate();
  h.deliver(TurnHarness::data_indication(kPeer, "unasked"));
  EXPECT_EQ(h.client.stats().dropped_no_permission, 1u);
  ASSERT_TRUE(h.client.add_permission(h.now, kPeer.ip()));
  h.deliver(h.success(h.request()));
  h.deliver(TurnHarness::data_indication(kPeer, "hi"));
  auto data = h.events_of<turn_event::PeerData>();
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].from, kPeer);
  EXPECT_EQ(data[0].data, to_bytes("hi"));
  EXPECT_EQ(h.client.stats().data_indications_received, 1u);
}

TEST(TurnClientData, DataIndicationsMissingAttributesOrCarryingIcmpAreDropped) {
  TurnHarness h;
  h.allocate();
  ASSERT_TRUE(h.client.add_permission(h.now, kPeer.ip()));
  h.deliver(h.success(h.request()));
  StunMessage no_data(StunClass::Indication, StunMethod::Data, TransactionId{1});
  no_data.add_xor_address(stun_attr::kXorPeerAddress, kPeer);
  h.deliver(no_data.encode());
  StunMessage no_peer(StunClass::Indication, StunMethod::Data, TransactionId{1});
  no_peer.add(stun_attr::kData, as_bytes("x"));
  h.deliver(no_peer.encode());
  StunMessage icmp(StunClass::Indication, StunMethod::Data, TransactionId{1});
  icmp.add_xor_address(stun_attr::kXorPeerAddress, kPeer);
  icmp.add(turn_attr::kIcmp, Bytes{0, 0, 3, 3});
  h.deliver(icmp.encode());
  EXPECT_EQ(h.client.stats().dropped_malformed, 2u);
  EXPECT_EQ(h.client.stats().dropped_unexpected, 1u);
  EXPECT_TRUE(h.events.empty());
}

TEST(TurnClientData, ChannelDataOnBoundChannelsOnly) {
  TurnHarness h;
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("x")));
  auto bind = h.request();
  // The server may relay before its success response arrives; the binding is ours already.
  h.deliver(encode_channel_data(kTurnMinChannel, to_bytes("early"), false));
  h.deliver(h.success(bind));
  h.transmits();
  h.deliver(encode_channel_data(kTurnMinChannel, to_bytes("padded"), true));
  h.deliver(encode_channel_data(0x4123, to_bytes("stranger"), false));
  auto data = h.events_of<turn_event::PeerData>();
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0].from, kPeer);
  EXPECT_EQ(data[0].data, to_bytes("early"));
  EXPECT_EQ(data[1].data, to_bytes("padded"));
  EXPECT_EQ(h.client.stats().dropped_unknown_channel, 1u);
  EXPECT_EQ(h.client.stats().channel_data_received, 2u);
}

TEST(TurnClientData, ChannelDataOverTcpIsPadded) {
  TurnHarness h(test::default_config(TurnTransport::Tcp));
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("hello")));
  h.deliver(h.success(h.request()));
  auto out = h.transmits();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(to_hex(out[0]), "4000000568656c6c6f000000");
}

TEST(TurnClientData, RefusedPermissionDropsQueuedDataAndBacksOff) {
  TurnHarness h(without_channels());
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("a")));
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("b")));
  h.deliver(h.error(h.request(), 403, "Forbidden IP"));
  auto failed = h.events_of<turn_event::PermissionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].peer, kPeer.ip());
  EXPECT_EQ(failed[0].stun_code, 403);
  EXPECT_EQ(failed[0].error, Condition::AuthFailed);
  EXPECT_EQ(failed[0].reason,
            "CreatePermission refused: 403 Forbidden (server says \"Forbidden IP\")");
  EXPECT_EQ(h.client.stats().dropped_queued_data, 2u);
  EXPECT_TRUE(h.transmits().empty());

  auto again = h.client.send_to(h.now, kPeer, to_bytes("c"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), TurnErrc::PermissionDenied);
  h.now += seconds(30);
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("d")));
  EXPECT_TRUE(h.request().is(StunClass::Request, StunMethod::CreatePermission));
  EXPECT_EQ(h.client.state(), TurnState::Allocated); // a peer's failure is not the allocation's
}

TEST(TurnClientData, FailedChannelBindFallsBackToCreatePermission) {
  TurnHarness h;
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("queued")));
  h.deliver(h.error(h.request(), 400, "Bad Request"));
  auto perm = h.request();
  ASSERT_TRUE(perm.is(StunClass::Request, StunMethod::CreatePermission));
  h.deliver(h.success(perm));
  auto out = h.transmits();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(payload_of_send_indication(out[0]), to_bytes("queued"));
  EXPECT_FALSE(h.client.has_channel(kPeer));
  // The failed channel's number is retired; no new bind is attempted for this peer.
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("more")));
  EXPECT_EQ(h.transmits().size(), 1u);
}

TEST(TurnClientData, BadRequestWithoutIntegrityIsIgnoredNotBelieved) {
  TurnHarness h(without_channels());
  h.allocate();
  ASSERT_TRUE(h.client.add_permission(h.now, kPeer.ip()));
  auto perm = h.request();
  auto forged = TurnHarness::reply(perm, StunClass::ErrorResponse);
  forged.add_error(400, "Bad Request");
  h.deliver(forged.encode());
  EXPECT_TRUE(h.events.empty());
  EXPECT_EQ(h.client.stats().dropped_unauthenticated, 1u);
  h.deliver(h.success(perm));
  EXPECT_TRUE(h.client.has_permission(kPeer.ip()));
}

TEST(TurnClientData, UnauthorizedWithARotatedNonceIsRetriedOnce) {
  TurnHarness h(without_channels());
  h.allocate();
  ASSERT_TRUE(h.client.add_permission(h.now, kPeer.ip()));
  h.deliver(TurnHarness::challenge(h.request(), 401, "rotated"));
  auto retry = h.request();
  EXPECT_EQ(retry.string(stun_attr::kNonce), "rotated");
  h.deliver(TurnHarness::challenge(retry, 401, "rotated-again"));
  auto failed = h.events_of<turn_event::PermissionFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::Unauthorized);
  EXPECT_TRUE(h.transmits().empty());
}

TEST(TurnClientData, PermissionsAndChannelsAreRefreshedBeforeTheyExpire) {
  TurnHarness h;
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("x")));
  h.deliver(h.success(h.request()));
  h.transmits();
  const TimePoint bound_at = h.now;

  // Permission: 300 s lifetime, refreshed at 240 s with CreatePermission (§9).
  h.fire();
  EXPECT_EQ(h.now, bound_at + seconds(240));
  auto perm = h.request();
  ASSERT_TRUE(perm.is(StunClass::Request, StunMethod::CreatePermission));
  h.deliver(h.success(perm));
  EXPECT_EQ(h.client.stats().permission_refreshes, 1u);

  // Allocation at 540 s, and the channel (600 s lifetime) at 540 s with the same number (§12.2).
  h.fire();
  EXPECT_EQ(h.now, bound_at + seconds(480)); // the permission again
  h.deliver(h.success(h.request()));
  h.fire();
  EXPECT_EQ(h.now, bound_at + seconds(540));
  std::vector<StunMessage> due;
  for (const auto& b : h.transmits())
    due.push_back(*StunMessage::decode(b));
  ASSERT_EQ(due.size(), 2u);
  const StunMessage* bind = nullptr;
  for (const auto& m : due) {
    if (m.is(StunClass::Request, StunMethod::ChannelBind)) bind = &m;
    h.deliver(h.success(m, 600));
  }
  ASSERT_NE(bind, nullptr);
  EXPECT_EQ(channel_number(*bind), kTurnMinChannel);
  EXPECT_EQ(bind->xor_address(stun_attr::kXorPeerAddress), kPeer);
  EXPECT_EQ(h.client.stats().channel_refreshes, 1u);
  EXPECT_EQ(h.client.stats().allocation_refreshes, 1u);
  EXPECT_TRUE(h.client.has_channel(kPeer));
}

TEST(TurnClientData, UnansweredPermissionRefreshReportsThePeer) {
  TurnHarness h(without_channels());
  h.allocate();
  ASSERT_TRUE(h.client.add_permission(h.now, kPeer.ip()));
  h.deliver(h.success(h.request()));
  h.fire(); // refresh at 240 s
  EXPECT_EQ(h.transmits().size(), 1u);
  while (h.events_of<turn_event::PermissionFailed>().empty()) {
    h.fire();
    h.transmits();
  }
  auto failed = h.events_of<turn_event::PermissionFailed>();
  EXPECT_EQ(failed[0].error, TurnErrc::TimedOut);
  EXPECT_FALSE(h.client.has_permission(kPeer.ip()));
}

TEST(TurnClientData, PermissionTableIsBounded) {
  auto config = without_channels();
  config.limits.max_permissions = 2;
  TurnHarness h(config);
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("1")));
  ASSERT_TRUE(h.client.send_to(h.now, kPeer2, to_bytes("2")));
  auto r = h.client.send_to(h.now, *SocketAddress::parse("198.51.100.9:1"), to_bytes("3"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), TurnErrc::PermissionLimit);
  EXPECT_EQ(r.error(), Condition::Blocked);
  EXPECT_EQ(h.client.stats().refused_permission_limit, 1u);
  EXPECT_EQ(h.client.permission_count(), 2u);
}

TEST(TurnClientData, RefusedPermissionsMakeRoomInAFullTable) {
  auto config = without_channels();
  config.limits.max_permissions = 1;
  TurnHarness h(config);
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("1")));
  h.deliver(h.error(h.request(), 403));
  ASSERT_TRUE(h.client.send_to(h.now, kPeer2, to_bytes("2")));
  EXPECT_EQ(h.client.permission_count(), 1u);
}

TEST(TurnClientData, PendingQueueIsBounded) {
  auto config = test::default_config();
  config.limits.max_pending_per_peer = 2;
  TurnHarness h(config);
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("1")));
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("2")));
  auto r = h.client.send_to(h.now, kPeer, to_bytes("3"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), TurnErrc::PendingQueueFull);
  EXPECT_EQ(h.transmits().size(), 1u); // still one ChannelBind only
}

TEST(TurnClientData, ChannelTableIsBoundedAndFallsBackToPermissions) {
  auto config = test::default_config();
  config.limits.max_channels = 1;
  TurnHarness h(config);
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("1")));
  EXPECT_TRUE(h.request().is(StunClass::Request, StunMethod::ChannelBind));
  ASSERT_TRUE(h.client.send_to(h.now, kPeer2, to_bytes("2")));
  EXPECT_TRUE(h.request().is(StunClass::Request, StunMethod::CreatePermission));
  EXPECT_EQ(h.client.channel_count(), 1u);
}

TEST(TurnClientData, PeerOfTheOtherFamilyOrOversizedDataIsRefused) {
  TurnHarness h;
  h.allocate();
  auto v6 = h.client.send_to(h.now, *SocketAddress::parse("[2001:db8::1]:5000"), to_bytes("x"));
  ASSERT_FALSE(v6);
  EXPECT_EQ(v6.error(), TurnErrc::PeerFamilyMismatch);
  Bytes big(kTurnMaxPeerPayload + 1, 0xAB);
  EXPECT_EQ(h.client.send_to(h.now, kPeer, big).error(), TurnErrc::PayloadTooLarge);
  EXPECT_EQ(h.client.add_permission(h.now, *IpAddress::parse("2001:db8::1")).error(),
            TurnErrc::PeerFamilyMismatch);
}

TEST(TurnClientData, LargestPayloadFitsASendIndication) {
  TurnHarness h(without_channels());
  h.allocate();
  ASSERT_TRUE(h.client.add_permission(h.now, kPeer.ip()));
  h.deliver(h.success(h.request()));
  Bytes big(kTurnMaxPeerPayload, 0xAB);
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, big));
  auto out = h.transmits();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(payload_of_send_indication(out[0]), big);
}

TEST(TurnClientData, ClosingDropsQueuedDataAndStopsRelaying) {
  TurnHarness h;
  h.allocate();
  ASSERT_TRUE(h.client.send_to(h.now, kPeer, to_bytes("queued")));
  h.transmits();
  h.client.close(h.now);
  EXPECT_EQ(h.client.stats().dropped_queued_data, 1u);
  EXPECT_EQ(h.client.permission_count(), 0u);
  h.deliver(encode_channel_data(kTurnMinChannel, to_bytes("late"), false));
  EXPECT_TRUE(h.events_of<turn_event::PeerData>().empty());
}

} // namespace
} // namespace posthorn::ice
