// Edge cases: old or misbehaving peers, failures, argument checks, the global timer wheel.

#include "sctp/association.hpp"
#include "sctp/testing.hpp"
#include "sctp_pair.hpp"

#include <gtest/gtest.h>

namespace posthorn::sctp {
namespace {

using testing::Pair;
using testing::Side;

result<void> raw(Side& s, StreamId sid, std::uint32_t ppid, std::string_view data) {
  return AssociationTesting::send_raw(*s.assoc, sid, ppid, as_bytes(data));
}

TEST(AssociationEdge, DeprecatedPartialPpidsAreReassembled) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "legacy"});
  // RFC 8831 §6.6: pieces with 54 (String Partial) end with 51; 52 (Binary Partial) with 53,
  // or with the *Empty* PPID when the last piece is empty.
  ASSERT_TRUE(raw(p.a, sid, 54, "hel"));
  ASSERT_TRUE(raw(p.a, sid, 54, "lo "));
  ASSERT_TRUE(raw(p.a, sid, 51, "world"));
  ASSERT_TRUE(raw(p.a, sid, 52, "\x01\x02"));
  ASSERT_TRUE(raw(p.a, sid, 53, "\x03"));
  ASSERT_TRUE(raw(p.a, sid, 52, "abc"));
  ASSERT_TRUE(raw(p.a, sid, 57, "x"));
  ASSERT_TRUE(p.drive_until([&] { return p.b.messages(sid).size() == 3; }, 1000, "legacy"));
  auto got = p.b.messages(sid);
  EXPECT_EQ(as_string_view(got[0].data), "hello world");
  EXPECT_FALSE(got[0].binary);
  EXPECT_EQ(to_hex(got[1].data), "010203");
  EXPECT_TRUE(got[1].binary);
  EXPECT_EQ(as_string_view(got[2].data), "abc");
  EXPECT_TRUE(got[2].binary);
}

TEST(AssociationEdge, DeprecatedPartialsOverOurLimitAreDropped) {
  auto server = testing::server_config();
  server.local_max_message_size = 10;
  Pair p(testing::client_config(), server);
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "legacy"});
  ASSERT_TRUE(raw(p.a, sid, 52, "12345678"));
  ASSERT_TRUE(raw(p.a, sid, 52, "12345678"));
  ASSERT_TRUE(raw(p.a, sid, 53, "end"));
  ASSERT_TRUE(raw(p.a, sid, 53, "next"));
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 1000, "after drop"));
  EXPECT_EQ(as_string_view(p.b.messages(sid)[0].data), "next");
  EXPECT_EQ(p.b.assoc->stats().oversize_messages_dropped, 1u);
}

TEST(AssociationEdge, UnknownPpidsAndStreamsWithoutChannelsAreCountedDrops) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "x"});
  ASSERT_TRUE(raw(p.a, sid, 99, "?"));
  ASSERT_TRUE(raw(p.a, 9, 51, "no channel here"));
  ASSERT_TRUE(p.a.assoc->send(sid, as_bytes("fine"), false));
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 1000, "after drops"));
  EXPECT_EQ(p.b.messages(sid).size(), 1u);
  EXPECT_EQ(p.b.assoc->stats().unknown_ppid_dropped, 1u);
  EXPECT_EQ(p.b.assoc->stats().unknown_stream_dropped, 1u);
}

TEST(AssociationEdge, MalformedOpenIsCountedAndTheStreamIsReset) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  ASSERT_TRUE(raw(p.a, 4, 50, "\x03\x55")); // truncated OPEN
  ASSERT_TRUE(raw(p.a, 6, 50, "\x09"));     // unknown message type
  p.run_for(milliseconds(200));
  EXPECT_EQ(p.b.assoc->stats().malformed_dcep, 2u);
  EXPECT_FALSE(p.b.has<ChannelOpen>());
  EXPECT_FALSE(p.a.has<Closed>());
  EXPECT_FALSE(p.b.has<Closed>());
  // The association is unharmed; stream 4 can carry a real channel afterwards.
  StreamId sid = p.open_and_wait(p.a, {.label = "real"});
  EXPECT_EQ(sid, 0);
}

TEST(AssociationEdge, OpenOnAStreamInUseIsIgnored) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "first"});
  DataChannelOpen dup;
  dup.label = "impostor";
  Bytes wire = encode(dup);
  ASSERT_TRUE(AssociationTesting::send_raw(*p.a.assoc, sid, 50, wire));
  ASSERT_TRUE(p.a.assoc->send(sid, as_bytes("still first"), false));
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 1000, "data"));
  EXPECT_EQ(p.b.count<ChannelOpen>(), 1u);
  EXPECT_EQ(p.b.opened(sid)->label, "first");
  EXPECT_EQ(p.b.assoc->stats().malformed_dcep, 1u);
}

TEST(AssociationEdge, RemoteTimedChannelReportsItsLifetime) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.b, {.label = "t", .max_packet_lifetime = milliseconds(1500)});
  ASSERT_TRUE(p.a.opened(sid));
  EXPECT_EQ(p.a.opened(sid)->max_packet_lifetime, milliseconds(1500));
  EXPECT_TRUE(p.a.opened(sid)->ordered);
  EXPECT_TRUE(p.a.opened(sid)->remote);
  ASSERT_TRUE(p.a.assoc->send(sid, as_bytes("timed"), false));
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 1000, "timed data"));
}

TEST(AssociationEdge, InvalidChannelOptionsAreRejected) {
  Pair p;
  EXPECT_EQ(p.a.assoc->open_channel({.max_retransmits = 1, .max_packet_lifetime = milliseconds(5)})
                .error(),
            Errc::InvalidOptions);
  EXPECT_EQ(p.a.assoc->open_channel({.label = std::string(65536, 'x')}).error(),
            Errc::InvalidOptions);
  EXPECT_EQ(p.a.assoc->open_channel({.negotiated_id = tuning::kMaxStreams}).error(),
            Errc::InvalidOptions);
  EXPECT_EQ(p.a.assoc->send(3, as_bytes("x"), false).error(), Errc::UnknownChannel);
}

TEST(AssociationEdge, StreamIdsRunOut) {
  Pair p;
  for (int i = 0; i < tuning::kMaxStreams / 2; ++i)
    ASSERT_TRUE(p.a.assoc->open_channel({.label = "c"})) << i;
  auto r = p.a.assoc->open_channel({.label = "one too many"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::NoStreamAvailable);
  EXPECT_TRUE(p.a.assoc->open_channel({.label = "odd", .negotiated_id = 1}));
}

TEST(AssociationEdge, ClosingAChannelBeforeConnectNeedsNoWire) {
  Pair p;
  auto sid = p.a.assoc->open_channel({.label = "never"});
  ASSERT_TRUE(sid);
  p.a.assoc->close_channel(*sid);
  ASSERT_TRUE(p.connect_and_wait());
  EXPECT_TRUE(p.a.has_closed_channel(*sid));
  EXPECT_FALSE(p.a.has<ChannelOpen>());
  EXPECT_FALSE(p.b.has<ChannelOpen>());
}

TEST(AssociationEdge, CloseBeforeConnectEndsAtOnce) {
  Pair p;
  p.a.assoc->close();
  auto e = p.a.assoc->poll_event();
  ASSERT_TRUE(e);
  ASSERT_TRUE(std::holds_alternative<Closed>(*e));
  EXPECT_EQ(std::get<Closed>(*e).error, Errc::ShutDown);
  EXPECT_FALSE(p.a.assoc->poll_timeout());
}

TEST(AssociationEdge, PeerThatNeverAnswersTimesOut) {
  Pair p;
  p.a.tap = [](const Bytes&) { return false; };
  p.a.assoc->connect(p.now());
  ASSERT_TRUE(p.drive_until([&] { return p.a.has<Closed>(); }, 1000000, "connect timeout"));
  EXPECT_EQ(p.a.all<Closed>()[0].error, Errc::ConnectFailed);
  EXPECT_EQ(p.a.all<Closed>()[0].error, Condition::TimedOut);
}

TEST(AssociationEdge, PathThatDiesLosesTheAssociation) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "doomed"});
  bool dead = true;
  p.a.tap = [&](const Bytes&) { return !dead; };
  p.b.tap = [&](const Bytes&) { return !dead; };
  ASSERT_TRUE(p.a.assoc->send(sid, as_bytes("into the void"), false));
  ASSERT_TRUE(
      p.drive_until([&] { return p.a.has<Closed>(); }, 1000000, "retransmissions exhausted"));
  EXPECT_EQ(p.a.all<Closed>()[0].error, Errc::ConnectionLost);
  EXPECT_TRUE(p.a.has_closed_channel(sid));
}

TEST(AssociationEdge, TimerWorkForAnIdleAssociationWakesItsDriver) {
  // usrsctp's timer wheel is global: driving pair 2 fires pair 1's delayed-SACK timer.
  int woken = 0;
  auto server = testing::server_config();
  server.wake = [&] { ++woken; };
  Pair p1(testing::client_config(), server);
  ASSERT_TRUE(p1.connect_and_wait());
  StreamId sid = p1.open_and_wait(p1.a, {.label = "waiting"});
  p1.run_for(milliseconds(500)); // let every pending SACK go out
  ASSERT_TRUE(p1.a.assoc->send(sid, as_bytes("one packet"), false));
  p1.step(); // the DATA reaches p1.b, whose SACK for a single packet is delayed (RFC 9260 §6.2)
  while (p1.b.assoc->poll_transmit()) {
  }
  Pair p2;
  ASSERT_TRUE(p2.connect_and_wait());
  const int before = woken;
  p2.run_for(milliseconds(200)); // only pair 2 is driven
  EXPECT_GT(woken, before);
  auto t = p1.b.assoc->poll_timeout();
  ASSERT_TRUE(t);
  EXPECT_LE(*t, p1.now()) << "pending output: the driver should come back at once";
  auto sack = p1.b.assoc->poll_transmit();
  ASSERT_TRUE(sack) << "the delayed SACK waits in the outbox";
  EXPECT_EQ((*sack)[12], 3) << "chunk type SACK";
  p1.b.assoc->handle_timeout(p1.now());
  EXPECT_GT(*p1.b.assoc->poll_timeout(), p1.now()) << "handled: back on the grid";
}

TEST(AssociationEdge, IdleAssociationWakesRarelyAndStaysAlive) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "idle"});
  p.run_for(std::chrono::seconds(1));
  auto t = p.a.assoc->poll_timeout();
  ASSERT_TRUE(t);
  EXPECT_GE(*t - p.now(), tuning::kIdlePoll / 2) << "idle: no 10 ms polling";
  // Two idle minutes, polled once a second: HEARTBEATs (every ~30 s) still go out and are
  // answered, and the association lives.
  const auto before = p.a.packets_out;
  p.run_for(std::chrono::minutes(2));
  EXPECT_GE(p.a.packets_out - before, 3u) << "heartbeats";
  EXPECT_FALSE(p.a.has<Closed>());
  EXPECT_FALSE(p.b.has<Closed>());
  // Any app call ends idleness at once.
  ASSERT_TRUE(p.a.assoc->send(sid, as_bytes("wake up"), false));
  t = p.a.assoc->poll_timeout();
  ASSERT_TRUE(t);
  EXPECT_LE(*t - p.now(), tuning::kTimerTick);
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 1000, "after idle"));
}

} // namespace
} // namespace posthorn::sctp
