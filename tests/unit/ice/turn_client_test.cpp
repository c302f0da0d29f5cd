// TurnClient allocation lifecycle against hand-built server responses: the long-term credential
// handshake (RFC 8489 §9.2), retransmissions (§6.2), refresh (RFC 8656 §8), close, TCP framing,
// and what is dropped rather than believed.
#include "ice/turn_errc.hpp"
#include "turn_test_harness.hpp"

#include <gtest/gtest.h>

namespace posthorn::ice {
namespace {

using test::TurnHarness;

TEST(TurnClient, FirstAllocateCarriesNoCredentials) {
  TurnHarness h;
  h.client.start(h.now);
  EXPECT_EQ(h.client.state(), TurnState::Allocating);
  auto req = h.request();
  EXPECT_TRUE(req.is(StunClass::Request, StunMethod::Allocate));
  EXPECT_EQ(to_hex(req.find(stun_attr::kRequestedTransport)->value), "11000000");
  EXPECT_FALSE(req.has(stun_attr::kUsername));
  EXPECT_FALSE(req.has_integrity());
  EXPECT_TRUE(req.has_fingerprint());
  EXPECT_FALSE(req.has(turn_attr::kRequestedAddressFamily));
}

TEST(TurnClient, AllocatesAfterThe401Challenge) {
  TurnHarness h;
  h.client.start(h.now);
  auto first = h.request();
  h.deliver(TurnHarness::challenge(first));
  auto second = h.request();
  EXPECT_NE(second.transaction_id(), first.transaction_id()); // a new transaction (§9.2.5)
  EXPECT_EQ(second.string(stun_attr::kUsername), test::kUser);
  EXPECT_EQ(second.string(stun_attr::kRealm), test::kRealm);
  EXPECT_EQ(second.string(stun_attr::kNonce), "nonce-1");
  EXPECT_TRUE(second.check_integrity(h.key));
  EXPECT_TRUE(second.has_fingerprint());
  EXPECT_TRUE(h.events.empty());

  h.deliver(h.allocate_success(second, 600));
  auto allocated = h.events_of<turn_event::Allocated>();
  ASSERT_EQ(allocated.size(), 1u);
  EXPECT_EQ(allocated[0].relayed, test::kRelayed);
  EXPECT_EQ(allocated[0].mapped, test::kMapped);
  EXPECT_EQ(allocated[0].lifetime, seconds(600));
  EXPECT_EQ(h.client.state(), TurnState::Allocated);
  EXPECT_EQ(h.client.relayed_address(), test::kRelayed);
  EXPECT_EQ(h.client.mapped_address(), test::kMapped);
}

TEST(TurnClient, SecondUnauthorizedFailsWithAClearMessageAndNoRetry) {
  TurnHarness h;
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request()));
  h.deliver(TurnHarness::challenge(h.request(), 401, "nonce-2"));
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::Unauthorized);
  EXPECT_EQ(failed[0].error, Condition::AuthFailed);
  EXPECT_EQ(failed[0].stun_code, 401);
  EXPECT_EQ(failed[0].reason, "401 Unauthorized: bad credentials (the TURN server rejected the "
                              "username or password for realm \"example.org\")");
  EXPECT_EQ(h.client.state(), TurnState::Failed);
  EXPECT_TRUE(h.transmits().empty());
  EXPECT_EQ(h.client.poll_timeout(), std::nullopt);
}

TEST(TurnClient, StaleNonceIsRetriedWithTheNewNonce) {
  TurnHarness h;
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request()));
  auto second = h.request();
  h.deliver(TurnHarness::challenge(second, 438, "nonce-2"));
  auto third = h.request();
  EXPECT_NE(third.transaction_id(), second.transaction_id());
  EXPECT_EQ(third.string(stun_attr::kNonce), "nonce-2");
  EXPECT_TRUE(third.check_integrity(h.key));
  h.deliver(h.allocate_success(third));
  EXPECT_EQ(h.client.state(), TurnState::Allocated);
  EXPECT_EQ(h.client.stats().stale_nonce_retries, 1u);
}

TEST(TurnClient, EndlessStaleNoncesGiveUp) {
  TurnServerConfig config = test::default_config();
  config.limits.max_stale_nonce_retries = 2;
  TurnHarness h(config);
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request()));
  for (int i = 0; i < 3; ++i)
    h.deliver(TurnHarness::challenge(h.request(), 438, "nonce-" + std::to_string(i + 2)));
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::StaleNonceLoop);
  EXPECT_EQ(h.client.stats().stale_nonce_retries, 2u);
}

TEST(TurnClient, ChallengeWithoutRealmOrNonceFails) {
  TurnHarness h;
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request(), 401, "nonce-1", ""));
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::MalformedResponse);
  EXPECT_NE(failed[0].reason.find("REALM"), std::string::npos);
}

TEST(TurnClient, NonceCookieAnnouncingAlgorithmsWithoutListingThemIsNotRetried) {
  TurnHarness h;
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request(), 401, "obMatJos2gAAAnonce"));
  ASSERT_EQ(h.events_of<turn_event::AllocationFailed>().size(), 1u);
  EXPECT_TRUE(h.transmits().empty());
}

TEST(TurnClient, ResponsesWithoutValidIntegrityAreDroppedAndCounted) {
  TurnHarness h;
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request()));
  auto second = h.request();

  auto forged = TurnHarness::reply(second, StunClass::SuccessResponse);
  forged.add_xor_address(stun_attr::kXorRelayedAddress, test::kPeer);
  h.deliver(forged.encode(std::nullopt, true)); // no MESSAGE-INTEGRITY
  const Bytes wrong_key = long_term_key(test::kUser, test::kRealm, "guess");
  h.deliver(forged.encode(ByteView(wrong_key), true)); // wrong key
  EXPECT_EQ(h.client.stats().dropped_unauthenticated, 2u);
  EXPECT_TRUE(h.events.empty());
  EXPECT_EQ(h.client.state(), TurnState::Allocating);

  h.deliver(h.allocate_success(second)); // the real answer still counts
  EXPECT_EQ(h.client.relayed_address(), test::kRelayed);
}

TEST(TurnClient, OnlyForgedResponsesOverUdpEndInIntegrityViolatedNotTimeout) {
  TurnHarness h;
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request()));
  auto second = h.request();
  h.deliver(TurnHarness::reply(second, StunClass::SuccessResponse).encode());
  while (h.client.state() == TurnState::Allocating)
    h.fire();
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::IntegrityViolated);
}

TEST(TurnClient, ForgedResponseOverTcpEndsTheTransactionAtOnce) {
  TurnHarness h(test::default_config(TurnTransport::Tcp));
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request()));
  auto second = h.request();
  h.deliver(TurnHarness::reply(second, StunClass::SuccessResponse).encode());
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::IntegrityViolated);
}

TEST(TurnClient, UnauthenticatedSuccessToTheFirstAllocateIsRefused) {
  TurnHarness h;
  h.client.start(h.now);
  auto first = h.request();
  auto r = TurnHarness::reply(first, StunClass::SuccessResponse);
  r.add_xor_address(stun_attr::kXorRelayedAddress, test::kRelayed);
  h.deliver(r.encode());
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::IntegrityViolated);
  EXPECT_NE(failed[0].reason.find("long-term credentials"), std::string::npos);
}

TEST(TurnClient, UnknownTransactionsAndMethodMismatchesAreDropped) {
  TurnHarness h;
  h.client.start(h.now);
  auto first = h.request();
  StunMessage stranger(StunClass::ErrorResponse, StunMethod::Allocate, TransactionId{1, 2, 3});
  stranger.add_error(401, "Unauthorized");
  h.deliver(stranger.encode());
  StunMessage wrong_method(StunClass::ErrorResponse, StunMethod::Refresh, first.transaction_id());
  wrong_method.add_error(401, "Unauthorized");
  h.deliver(wrong_method.encode());
  EXPECT_EQ(h.client.stats().dropped_unknown_transaction, 2u);
  EXPECT_TRUE(h.transmits().empty());
  h.deliver(TurnHarness::challenge(first)); // the transaction is still open
  EXPECT_EQ(h.transmits().size(), 1u);
}

TEST(TurnClient, GarbageIsCountedNotBelieved) {
  TurnHarness h;
  h.allocate();
  h.deliver(to_bytes("not stun at all"));
  h.deliver(Bytes{0x00, 0x01, 0x00});
  h.deliver(Bytes{0x40, 0x00, 0x00, 0x09, 0x01}); // ChannelData longer than the datagram
  StunMessage req(StunClass::Request, StunMethod::Binding, TransactionId{7});
  h.deliver(req.encode());
  StunMessage send(StunClass::Indication, StunMethod::Send, TransactionId{7});
  h.deliver(send.encode());
  EXPECT_EQ(h.client.stats().dropped_malformed, 3u);
  EXPECT_EQ(h.client.stats().dropped_unexpected, 2u);
  EXPECT_TRUE(h.events.empty());
  EXPECT_EQ(h.client.state(), TurnState::Allocated);
}

TEST(TurnClient, RetransmitsOnTheRfc8489ScheduleThenTimesOut) {
  TurnHarness h;
  const TimePoint t0 = h.now;
  h.client.start(h.now);
  const Bytes first = h.transmits().at(0);
  std::vector<Duration> sent_at;
  while (h.client.state() == TurnState::Allocating) {
    h.fire();
    for (const auto& b : h.transmits()) {
      EXPECT_EQ(b, first); // a retransmission is the same bytes, same transaction
      sent_at.push_back(h.now - t0);
    }
  }
  const std::vector<Duration> expected = {milliseconds(500),   milliseconds(1500),
                                          milliseconds(3500),  milliseconds(7500),
                                          milliseconds(15500), milliseconds(31500)};
  EXPECT_EQ(sent_at, expected);
  EXPECT_EQ(h.now - t0, milliseconds(39500));
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::TimedOut);
  EXPECT_EQ(failed[0].error, Condition::TimedOut);
  EXPECT_NE(failed[0].reason.find("no answer"), std::string::npos);
  EXPECT_EQ(h.client.stats().retransmissions, 6u);
}

TEST(TurnClient, TcpNeverRetransmitsAndGivesUpAfterTi) {
  TurnHarness h(test::default_config(TurnTransport::Tcp));
  const TimePoint t0 = h.now;
  h.client.start(h.now);
  EXPECT_EQ(h.transmits().size(), 1u);
  h.fire();
  EXPECT_TRUE(h.transmits().empty());
  EXPECT_EQ(h.now - t0, milliseconds(39500));
  ASSERT_EQ(h.events_of<turn_event::AllocationFailed>().size(), 1u);
}

TEST(TurnClient, ErrorResponsesBecomeTypedFailuresWithReadableReasons) {
  TurnHarness h;
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request()));
  h.deliver(h.error(h.request(), 486, "Allocation Quota Reached"));
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::QuotaReached);
  EXPECT_EQ(failed[0].stun_code, 486);
  EXPECT_EQ(failed[0].reason, "Allocate refused: 486 Allocation Quota Reached");
}

TEST(TurnClient, UnsupportedTransportBeforeAuthenticationIsReported) {
  TurnHarness h;
  h.client.start(h.now);
  auto r = TurnHarness::reply(h.request(), StunClass::ErrorResponse);
  r.add_error(442, "Unsupported Transport Protocol");
  h.deliver(r.encode());
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::UnsupportedByServer);
}

TEST(TurnClient, TryAlternateNamesTheServerButIsNotFollowed) {
  TurnHarness h;
  h.client.start(h.now);
  auto r = TurnHarness::reply(h.request(), StunClass::ErrorResponse);
  r.add_error(300, "Try Alternate");
  r.add(stun_attr::kAlternateServer, Bytes{0x00, 0x01, 0x0d, 0x96, 192, 0, 2, 2});
  h.deliver(r.encode());
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].reason, "Allocate refused: 300 Try Alternate; the server redirects to "
                              "192.0.2.2:3478 (redirects are not followed)");
}

TEST(TurnClient, ErrorResponseWithoutErrorCodeIsMalformed) {
  TurnHarness h;
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request()));
  auto r = TurnHarness::reply(h.request(), StunClass::ErrorResponse);
  h.deliver(r.encode(ByteView(h.key), true));
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::MalformedResponse);
}

TEST(TurnClient, SuccessWithoutRelayedAddressOrWithUnknownAttributeFails) {
  for (bool unknown : {false, true}) {
    TurnHarness h;
    h.client.start(h.now);
    h.deliver(TurnHarness::challenge(h.request()));
    auto r = TurnHarness::reply(h.request(), StunClass::SuccessResponse);
    if (unknown) {
      r.add_xor_address(stun_attr::kXorRelayedAddress, test::kRelayed);
      r.add(0x7777, Bytes{0, 0, 0, 0});
    }
    h.deliver(r.encode(ByteView(h.key), true));
    auto failed = h.events_of<turn_event::AllocationFailed>();
    ASSERT_EQ(failed.size(), 1u) << unknown;
    EXPECT_EQ(failed[0].error, TurnErrc::MalformedResponse);
  }
}

TEST(TurnClient, AsksForAnIpv6RelayWhenConfigured) {
  TurnServerConfig config = test::default_config();
  config.relay_family = IpFamily::V6;
  TurnHarness h(config);
  h.client.start(h.now);
  auto req = h.request();
  ASSERT_TRUE(req.has(turn_attr::kRequestedAddressFamily));
  EXPECT_EQ(req.find(turn_attr::kRequestedAddressFamily)->value[0], 0x02);
}

TEST(TurnClient, RefreshesTheAllocationOneMinuteBeforeExpiry) {
  TurnHarness h;
  h.allocate(600);
  const TimePoint allocated_at = h.now;
  EXPECT_EQ(h.client.poll_timeout(), allocated_at + seconds(540));
  h.fire();
  auto refresh = h.request();
  EXPECT_TRUE(refresh.is(StunClass::Request, StunMethod::Refresh));
  EXPECT_FALSE(refresh.has(stun_attr::kLifetime)); // asks for the default lifetime
  EXPECT_TRUE(refresh.check_integrity(h.key));
  EXPECT_EQ(refresh.string(stun_attr::kUsername), test::kUser);
  h.deliver(h.success(refresh, 300));
  EXPECT_EQ(h.client.stats().allocation_refreshes, 1u);
  EXPECT_EQ(h.client.poll_timeout(), h.now + seconds(240));
  EXPECT_EQ(h.client.state(), TurnState::Allocated);
}

TEST(TurnClient, ShortLifetimesRefreshHalfwayButNotInATightLoop) {
  TurnHarness h;
  h.allocate(60);
  EXPECT_EQ(h.client.poll_timeout(), h.now + seconds(30));
  TurnHarness zero;
  zero.allocate(0);
  EXPECT_EQ(zero.client.poll_timeout(), zero.now + seconds(1));
}

TEST(TurnClient, RefreshStaleNonceIsRetriedTransparently) {
  TurnHarness h;
  h.allocate();
  h.fire();
  h.deliver(TurnHarness::challenge(h.request(), 438, "nonce-9"));
  auto retry = h.request();
  EXPECT_EQ(retry.string(stun_attr::kNonce), "nonce-9");
  h.deliver(h.success(retry, 600));
  EXPECT_EQ(h.client.stats().allocation_refreshes, 1u);
  EXPECT_TRUE(h.events.empty());
}

TEST(TurnClient, RefusedRefreshMeansTheAllocationIsLost) {
  TurnHarness h;
  h.allocate();
  h.fire();
  h.deliver(h.error(h.request(), 437, "Allocation Mismatch"));
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::AllocationMismatch);
  EXPECT_EQ(failed[0].reason, "allocation lost: Refresh refused: 437 Allocation Mismatch");
  EXPECT_EQ(h.client.state(), TurnState::Failed);
  EXPECT_FALSE(h.client.send_to(h.now, test::kPeer, to_bytes("x")));
}

TEST(TurnClient, CloseReleasesWithLifetimeZero) {
  TurnHarness h;
  h.allocate();
  h.client.close(h.now);
  EXPECT_EQ(h.client.state(), TurnState::Closing);
  auto release = h.request();
  EXPECT_TRUE(release.is(StunClass::Request, StunMethod::Refresh));
  EXPECT_EQ(release.u32(stun_attr::kLifetime), 0u);
  EXPECT_TRUE(release.check_integrity(h.key));
  h.deliver(h.success(release, 0));
  ASSERT_EQ(h.events_of<turn_event::Closed>().size(), 1u);
  EXPECT_EQ(h.client.state(), TurnState::Closed);
  EXPECT_EQ(h.client.poll_timeout(), std::nullopt);
  auto r = h.client.send_to(h.now, test::kPeer, to_bytes("x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), TurnErrc::Closed);
  h.client.close(h.now); // idempotent
  EXPECT_EQ(h.events_of<turn_event::Closed>().size(), 1u);
}

TEST(TurnClient, CloseCompletesWhenTheServerForgotOrNeverAnswers) {
  TurnHarness mismatch;
  mismatch.allocate();
  mismatch.client.close(mismatch.now);
  mismatch.deliver(mismatch.error(mismatch.request(), 437));
  EXPECT_EQ(mismatch.events_of<turn_event::Closed>().size(), 1u);

  TurnHarness silent;
  silent.allocate();
  silent.client.close(silent.now);
  while (silent.client.state() == TurnState::Closing)
    silent.fire();
  EXPECT_EQ(silent.events_of<turn_event::Closed>().size(), 1u);
  EXPECT_TRUE(silent.events_of<turn_event::AllocationFailed>().empty());
}

TEST(TurnClient, CloseDuringTheAuthenticatedAllocateReleasesWhatItGets) {
  TurnHarness h;
  h.client.start(h.now);
  h.deliver(TurnHarness::challenge(h.request()));
  auto second = h.request();
  h.client.close(h.now);
  EXPECT_EQ(h.client.state(), TurnState::Closing);
  h.deliver(h.allocate_success(second));
  EXPECT_TRUE(h.events_of<turn_event::Allocated>().empty());
  auto release = h.request();
  EXPECT_EQ(release.u32(stun_attr::kLifetime), 0u);
  h.deliver(h.success(release, 0));
  EXPECT_EQ(h.events_of<turn_event::Closed>().size(), 1u);
}

TEST(TurnClient, CloseBeforeAnyCredentialsClosesAtOnce) {
  TurnHarness h;
  h.client.start(h.now);
  auto first = h.request();
  h.client.close(h.now);
  EXPECT_EQ(h.events_of<turn_event::Closed>().size(), 0u);
  h.drain();
  EXPECT_EQ(h.events_of<turn_event::Closed>().size(), 1u);
  EXPECT_EQ(h.client.poll_timeout(), std::nullopt);
  h.deliver(TurnHarness::challenge(first)); // too late: ignored
  EXPECT_TRUE(h.transmits().empty());

  TurnHarness idle;
  idle.client.close(idle.now);
  idle.drain();
  EXPECT_EQ(idle.client.state(), TurnState::Closed);
}

TEST(TurnClient, TcpStreamIsFramedAcrossArbitraryChunks) {
  TurnHarness h(test::default_config(TurnTransport::Tcp));
  h.client.start(h.now);
  Bytes stream = TurnHarness::challenge(h.request());
  for (std::size_t i = 0; i < stream.size(); i += 7)
    h.client.handle_stream_bytes(
        h.now, ByteView(stream).subspan(i, std::min<std::size_t>(7, stream.size() - i)));
  auto second = h.request();
  Bytes success = h.allocate_success(second);
  // The success and a Data indication arrive in one chunk, split mid-message.
  Bytes chunk = success;
  Bytes indication = TurnHarness::data_indication(test::kPeer, "early");
  chunk.insert(chunk.end(), indication.begin(), indication.begin() + 10);
  h.deliver(chunk);
  EXPECT_EQ(h.client.state(), TurnState::Allocated);
  h.deliver(ByteView(indication).subspan(10));
  EXPECT_EQ(h.client.stats().dropped_no_permission, 1u); // framed fine, just not permitted
}

TEST(TurnClient, TcpBytesThatLoseFramingFailTheAllocation) {
  TurnHarness h(test::default_config(TurnTransport::Tcp));
  h.allocate();
  h.deliver(Bytes{0xC0, 0x00, 0x00, 0x00});
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::StreamDesynchronized);
}

TEST(TurnClient, ClosedTcpConnectionTakesTheAllocationWithIt) {
  TurnHarness h(test::default_config(TurnTransport::Tcp));
  h.allocate();
  h.client.handle_transport_closed(h.now);
  h.drain();
  auto failed = h.events_of<turn_event::AllocationFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, TurnErrc::ConnectionClosed);

  TurnHarness closing(test::default_config(TurnTransport::Tcp));
  closing.allocate();
  closing.client.close(closing.now);
  closing.client.handle_transport_closed(closing.now);
  closing.drain();
  EXPECT_EQ(closing.events_of<turn_event::Closed>().size(), 1u);
}

TEST(TurnClient, RejectsUnusableConfigWithActionableMessages) {
  SeededRng rng(1);
  TurnServerConfig no_port = test::default_config();
  no_port.server = SocketAddress(test::kServer.ip(), 0);
  EXPECT_THROW(TurnClient(no_port, rng), std::invalid_argument);
  TurnServerConfig no_user = test::default_config();
  no_user.username.clear();
  EXPECT_THROW(TurnClient(no_user, rng), std::invalid_argument);
  TurnServerConfig long_user = test::default_config();
  long_user.username = std::string(510, 'u');
  EXPECT_THROW(TurnClient(long_user, rng), std::invalid_argument);
}

TEST(TurnClient, SameSeedSameBytes) {
  TurnHarness a, b;
  a.client.start(a.now);
  b.client.start(b.now);
  EXPECT_EQ(a.transmits(), b.transmits());
}

} // namespace
} // namespace posthorn::ice
