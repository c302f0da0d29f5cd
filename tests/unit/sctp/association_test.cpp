#include "sctp/association.hpp"

#include "core/crypto.hpp"
#include "sctp_pair.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace posthorn::sctp {
namespace {

using testing::Pair;
using testing::Side;

ByteView text(std::string_view s) {
  return as_bytes(s);
}

/// Opens a channel on `opener` and drives until both sides report it open.
TEST(Association, ConnectsWhenBothSidesConnectAtOnce) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  EXPECT_EQ(p.a.assoc->state(), Association::State::Connected);
  EXPECT_EQ(p.b.assoc->state(), Association::State::Connected);
  EXPECT_EQ(p.a.assoc->stream_limit(), tuning::kMaxStreams);
}

TEST(Association, ConnectsWhenThePeerConnectsFirst) {
  // The server's INIT arrives before the client called connect(): it is kept and replayed.
  Pair p;
  p.b.assoc->connect(p.now());
  for (int i = 0; i < 3; ++i)
    p.step();
  EXPECT_EQ(p.a.assoc->state(), Association::State::Idle);
  p.a.assoc->connect(p.now());
  EXPECT_TRUE(p.drive_until([&] { return p.a.has<Connected>() && p.b.has<Connected>(); }, 10000,
                            "late connect"));
}

TEST(Association, ConnectsWhenTheClientConnectsFirst) {
  Pair p;
  p.a.assoc->connect(p.now());
  for (int i = 0; i < 3; ++i)
    p.step();
  p.b.assoc->connect(p.now());
  EXPECT_TRUE(p.drive_until([&] { return p.a.has<Connected>() && p.b.has<Connected>(); }, 10000,
                            "late connect"));
}

TEST(Association, ChannelIdsFollowTheDtlsRole) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId from_client = p.open_and_wait(p.a, {.label = "c"});
  StreamId from_server = p.open_and_wait(p.b, {.label = "s"});
  EXPECT_EQ(from_client % 2, 0) << "RFC 8832 §6: the DTLS client uses even stream ids";
  EXPECT_EQ(from_server % 2, 1);
  EXPECT_FALSE(p.a.opened(from_client)->remote);
  EXPECT_TRUE(p.b.opened(from_client)->remote);
  EXPECT_EQ(p.b.opened(from_client)->label, "c");
  EXPECT_TRUE(p.a.opened(from_server)->remote);
  StreamId second = p.open_and_wait(p.a, {.label = "c2"});
  EXPECT_EQ(second, from_client + 2);
}

TEST(Association, RemoteChannelCarriesTheOpenersOptions) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  ChannelOptions o{.label = "game", .protocol = "proto/1", .ordered = false, .max_retransmits = 2};
  StreamId sid = p.open_and_wait(p.a, o);
  auto remote = p.b.opened(sid);
  ASSERT_TRUE(remote);
  EXPECT_EQ(remote->label, "game");
  EXPECT_EQ(remote->protocol, "proto/1");
  EXPECT_FALSE(remote->ordered);
  EXPECT_EQ(remote->max_retransmits, 2);
  EXPECT_FALSE(remote->max_packet_lifetime);
  EXPECT_FALSE(remote->negotiated);
}

TEST(Association, ChannelOpenedBeforeConnectOpensOnConnect) {
  Pair p;
  auto sid = p.a.assoc->open_channel({.label = "early"});
  ASSERT_TRUE(sid);
  EXPECT_EQ(p.a.assoc->send(*sid, text("x"), false).error(), Errc::ChannelNotOpen);
  ASSERT_TRUE(p.connect_and_wait());
  ASSERT_TRUE(p.drive_until([&] { return p.b.opened(*sid).has_value(); }, 1000, "open"));
  // Connected comes before the queued channel's ChannelOpen.
  ASSERT_GE(p.a.events.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<Connected>(p.a.events[0]));
  EXPECT_TRUE(std::holds_alternative<ChannelOpen>(p.a.events[1]));
}

TEST(Association, TextBinaryAndEmptyMessagesKeepTheirKind) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "chat"});
  ASSERT_TRUE(p.a.assoc->send(sid, text("hello"), false));
  ASSERT_TRUE(p.a.assoc->send(sid, text("\x01\x02"), true));
  ASSERT_TRUE(p.a.assoc->send(sid, {}, false));
  ASSERT_TRUE(p.a.assoc->send(sid, {}, true));
  ASSERT_TRUE(p.b.assoc->send(sid, text("back"), false));
  ASSERT_TRUE(
      p.drive_until([&] { return p.b.messages(sid).size() == 4 && p.a.messages(sid).size() == 1; },
                    1000, "messages"));
  auto got = p.b.messages(sid);
  EXPECT_EQ(as_string_view(got[0].data), "hello");
  EXPECT_FALSE(got[0].binary);
  EXPECT_EQ(to_hex(got[1].data), "0102");
  EXPECT_TRUE(got[1].binary);
  EXPECT_TRUE(got[2].data.empty());
  EXPECT_FALSE(got[2].binary);
  EXPECT_TRUE(got[3].data.empty());
  EXPECT_TRUE(got[3].binary);
  EXPECT_EQ(as_string_view(p.a.messages(sid)[0].data), "back");
}

TEST(Association, MessageOverThePeersMaxMessageSizeIsRejected) {
  auto client = testing::client_config();
  client.remote_max_message_size = 65536;
  Pair p(client);
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "big"});
  Bytes too_big(65537, 0xab);
  auto r = p.a.assoc->send(sid, too_big, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::MessageTooLarge);
  EXPECT_EQ(r.error(), Condition::InvalidArgument);
  too_big.pop_back();
  EXPECT_TRUE(p.a.assoc->send(sid, too_big, true));
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 10000, "64 KiB message"));
  EXPECT_EQ(p.b.messages(sid)[0].data, too_big);
}

TEST(Association, IncomingMessageOverOurMaxIsDroppedAndCounted) {
  auto client = testing::client_config();
  client.remote_max_message_size = 0; // the peer told us "no limit" (RFC 8841 §6.1)
  auto server = testing::server_config();
  server.local_max_message_size = 100 * 1024;
  Pair p(client, server);
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "big"});
  ASSERT_TRUE(p.a.assoc->send(sid, Bytes(300 * 1024, 1), true)); // reassembled in pieces
  ASSERT_TRUE(p.a.assoc->send(sid, Bytes(100 * 1024, 2), true)); // exactly the limit
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 100000, "next message"));
  auto got = p.b.messages(sid);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, Bytes(100 * 1024, 2));
  EXPECT_EQ(p.b.assoc->stats().oversize_messages_dropped, 1u);
}

TEST(Association, LargeMessagesWithinOurLimitAreReassembled) {
  auto client = testing::client_config();
  client.remote_max_message_size = 0;
  auto server = testing::server_config();
  server.local_max_message_size = 8 * 1024 * 1024;
  Pair p(client, server);
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "big"});
  SeededRng rng(7);
  Bytes big = rng.bytes(6 * 1024 * 1024); // larger than usrsctp's send and receive buffers
  ASSERT_TRUE(p.a.assoc->send(sid, big, true));
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 1000000, "6 MiB"));
  EXPECT_EQ(p.b.messages(sid)[0].data, big);
}

TEST(Association, NegotiatedChannelOpensOnBothSidesWithoutDcep) {
  Pair p;
  ChannelOptions o{.label = "neg", .negotiated_id = 7};
  ASSERT_EQ(*p.a.assoc->open_channel(o), 7);
  ASSERT_EQ(*p.b.assoc->open_channel(o), 7);
  ASSERT_TRUE(p.connect_and_wait());
  ASSERT_TRUE(p.drive_until([&] { return p.a.opened(7) && p.b.opened(7); }, 1000, "negotiated"));
  EXPECT_TRUE(p.a.opened(7)->negotiated);
  EXPECT_FALSE(p.b.opened(7)->remote);
  ASSERT_TRUE(p.a.assoc->send(7, text("ping"), false));
  ASSERT_TRUE(p.b.assoc->send(7, text("pong"), false));
  ASSERT_TRUE(p.drive_until([&] { return !p.a.messages(7).empty() && !p.b.messages(7).empty(); },
                            1000, "negotiated data"));
  EXPECT_EQ(as_string_view(p.b.messages(7)[0].data), "ping");
  EXPECT_EQ(as_string_view(p.a.messages(7)[0].data), "pong");
  EXPECT_EQ(p.a.assoc->open_channel(o).error(), Errc::StreamInUse);
  EXPECT_EQ(p.a.assoc->stats().malformed_dcep, 0u);
}

TEST(Association, NegotiatedChannelOpenedAfterConnectIsOpenAtOnce) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  ChannelOptions o{.label = "neg", .negotiated_id = 12};
  ASSERT_TRUE(p.a.assoc->open_channel(o));
  ASSERT_TRUE(p.a.opened(12) || p.a.assoc->poll_event());
}

TEST(Association, CloseChannelClosesBothSidesAndFreesTheId) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "bye"});
  ASSERT_TRUE(p.a.assoc->send(sid, text("last words"), false));
  p.a.assoc->close_channel(sid);
  EXPECT_EQ(p.a.assoc->send(sid, text("too late"), false).error(), Errc::ChannelClosing);
  ASSERT_TRUE(
      p.drive_until([&] { return p.a.has_closed_channel(sid) && p.b.has_closed_channel(sid); },
                    10000, "channel closed"));
  // Queued data goes out before the reset.
  ASSERT_EQ(p.b.messages(sid).size(), 1u);
  EXPECT_EQ(as_string_view(p.b.messages(sid)[0].data), "last words");
  // The id is free again once both directions are reset.
  auto again = p.a.assoc->open_channel({.label = "again"});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, sid);
  ASSERT_TRUE(p.drive_until([&] { return p.b.count<ChannelOpen>() == 2; }, 10000, "reopen"));
  ASSERT_TRUE(p.a.assoc->send(sid, text("new"), false));
  ASSERT_TRUE(p.drive_until([&] { return p.b.messages(sid).size() == 2; }, 10000, "reused id"));
}

TEST(Association, PeerClosingAChannelClosesOurSideToo) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "remote-close"});
  p.b.assoc->close_channel(sid);
  ASSERT_TRUE(
      p.drive_until([&] { return p.a.has_closed_channel(sid) && p.b.has_closed_channel(sid); },
                    10000, "closed by peer"));
  EXPECT_EQ(p.a.assoc->send(sid, text("x"), false).error(), Errc::UnknownChannel);
}

TEST(Association, BufferedAmountLowFiresWhenTheQueueDrains) {
  auto client = testing::client_config();
  client.send_buffer_limit = 1024 * 1024;
  Pair p(client);
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "bulk"});
  constexpr std::size_t kThreshold = 64 * 1024;
  p.a.assoc->set_buffered_amount_low_threshold(sid, kThreshold);
  const Bytes chunk(64 * 1024, 0x5a);
  std::size_t accepted = 0;
  for (;;) {
    auto r = p.a.assoc->send(sid, chunk, true);
    if (!r) {
      EXPECT_EQ(r.error(), Condition::Blocked);
      break;
    }
    ++accepted;
    ASSERT_LT(accepted, 1000u) << "never blocked";
  }
  EXPECT_GT(p.a.assoc->buffered_amount(sid), kThreshold);
  EXPECT_LE(p.a.assoc->buffered_amount(sid), client.send_buffer_limit);
  ASSERT_TRUE(p.drive_until([&] { return p.a.has<BufferedAmountLow>(); }, 100000, "low event"));
  EXPECT_EQ(p.a.all<BufferedAmountLow>()[0].stream, sid);
  EXPECT_LE(p.a.assoc->buffered_amount(sid), kThreshold);
  ASSERT_TRUE(p.drive_until([&] { return p.b.messages(sid).size() == accepted; }, 100000, "all"));
  EXPECT_EQ(p.a.assoc->buffered_amount(sid), 0u);
}

TEST(Association, GracefulCloseReachesBothSides) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "x"});
  ASSERT_TRUE(p.a.assoc->send(sid, text("before close"), false));
  p.a.assoc->close();
  ASSERT_TRUE(
      p.drive_until([&] { return p.a.has<Closed>() && p.b.has<Closed>(); }, 10000, "shutdown"));
  EXPECT_EQ(p.a.all<Closed>()[0].error, Errc::ShutDown);
  EXPECT_EQ(p.b.all<Closed>()[0].error, Errc::ShutDown);
  EXPECT_EQ(p.b.messages(sid).size(), 1u);
  EXPECT_TRUE(p.a.has_closed_channel(sid));
  EXPECT_TRUE(p.b.has_closed_channel(sid));
  EXPECT_FALSE(p.a.assoc->poll_timeout());
  EXPECT_EQ(p.a.assoc->send(sid, text("x"), false).error(), Errc::NotConnected);
}

TEST(Association, AbortSendsOneAbortAndThePeerSeesIt) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  p.a.assoc->abort();
  ASSERT_TRUE(p.a.has<Closed>() || p.a.assoc->poll_event());
  ASSERT_TRUE(p.drive_until([&] { return p.b.has<Closed>(); }, 1000, "abort seen"));
  EXPECT_EQ(p.b.all<Closed>()[0].error, Errc::AbortedByPeer);
}

TEST(Association, PacketsFitTheMtuAndCarryAValidCrc32c) {
  Pair p;
  std::size_t checked = 0;
  p.a.tap = [&](const Bytes& packet) {
    EXPECT_LE(packet.size(), tuning::kMaxPacketSize);
    Bytes zeroed = packet;
    std::memset(zeroed.data() + 8, 0, 4);
    // RFC 9260 Appendix A: the CRC32c value goes on the wire least significant byte first.
    const std::uint32_t on_wire = std::uint32_t{packet[8]} | std::uint32_t{packet[9]} << 8 |
                                  std::uint32_t{packet[10]} << 16 | std::uint32_t{packet[11]} << 24;
    EXPECT_EQ(on_wire, crypto::crc32c(zeroed));
    ++checked;
    return true;
  };
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "mtu"});
  ASSERT_TRUE(p.a.assoc->send(sid, Bytes(20000, 3), true));
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 10000, "data"));
  EXPECT_GT(checked, 15u);
  // DATA chunks are padded to 4 bytes, so the largest packet may be up to 3 bytes short.
  EXPECT_GT(p.a.largest_packet, tuning::kMaxPacketSize - 4);
}

TEST(Association, PollTimeoutFollowsTheSharedTimerGrid) {
  Pair p;
  EXPECT_FALSE(p.a.assoc->poll_timeout()) << "nothing to time before connect";
  ASSERT_TRUE(p.connect_and_wait());
  auto t = p.a.assoc->poll_timeout();
  ASSERT_TRUE(t);
  EXPECT_LE(*t, p.now() + tuning::kTimerTick);
  EXPECT_EQ(p.a.assoc->poll_timeout(), p.b.assoc->poll_timeout()) << "one grid for all";
}

TEST(Association, GarbagePacketsAreDroppedWithoutHarm) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "g"});
  SeededRng rng(99);
  for (int i = 0; i < 3000; ++i) {
    Bytes junk = rng.bytes(rng.uniform(1500));
    p.b.assoc->handle_packet(p.now(), junk);
  }
  p.b.assoc->handle_packet(p.now(), {});
  ASSERT_TRUE(p.a.assoc->send(sid, text("still alive"), false));
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(sid).empty(); }, 10000, "after garbage"));
  EXPECT_FALSE(p.b.has<Closed>());
}

TEST(Association, MutatedPacketsNeverCrash) {
  // Real packets of a live association with random bytes overwritten: they pass the verification
  // tag check and reach usrsctp's chunk parsers. Some legitimately end the association (a mutated
  // chunk may become an ABORT); then a fresh pair takes over until enough packets went in.
  SeededRng rng(5);
  std::size_t fed = 0;
  int pairs = 0;
  while (fed < 4000 && pairs < 200) {
    ++pairs;
    Pair p;
    std::vector<Bytes> captured;
    p.a.tap = [&](const Bytes& packet) {
      if (captured.size() < 64) captured.push_back(packet);
      return true;
    };
    ASSERT_TRUE(p.connect_and_wait());
    StreamId sid = p.open_and_wait(p.a, {.label = "m"});
    ASSERT_TRUE(p.a.assoc->send(sid, Bytes(5000, 1), true));
    p.run_for(milliseconds(100));
    while (fed < 4000 && p.b.assoc->state() == Association::State::Connected) {
      Bytes packet = captured[rng.uniform(captured.size())];
      for (int flips = 1 + static_cast<int>(rng.uniform(4)); flips > 0; --flips)
        packet[12 + rng.uniform(packet.size() - 12)] = static_cast<std::uint8_t>(rng.next_u32());
      p.b.assoc->handle_packet(p.now(), packet);
      ++fed;
      while (p.b.assoc->poll_transmit()) {
      }
      while (p.b.assoc->poll_event()) {
      }
    }
  }
  EXPECT_EQ(fed, 4000u);
}

TEST(Association, TwoPairsInOneProcessStayApart) {
  Pair p1;
  Pair p2;
  p1.connect_both();
  p2.connect_both();
  auto both_up = [&] {
    return p1.a.has<Connected>() && p1.b.has<Connected>() && p2.a.has<Connected>() &&
           p2.b.has<Connected>();
  };
  for (int i = 0; i < 10000 && !both_up(); ++i) {
    p1.step();
    p2.step();
  }
  ASSERT_TRUE(both_up());
  ASSERT_NE(p1.a.assoc->stack_id(), p2.a.assoc->stack_id());
  auto s1 = p1.a.assoc->open_channel({.label = "one"});
  auto s2 = p2.a.assoc->open_channel({.label = "two"});
  ASSERT_TRUE(s1 && s2);
  auto opened = [&] { return p1.b.opened(*s1) && p2.b.opened(*s2); };
  for (int i = 0; i < 10000 && !opened(); ++i) {
    p1.step();
    p2.step();
  }
  ASSERT_TRUE(opened());
  EXPECT_EQ(p1.b.opened(*s1)->label, "one");
  EXPECT_EQ(p2.b.opened(*s2)->label, "two");
  ASSERT_TRUE(p1.a.assoc->send(*s1, text("for pair one"), false));
  ASSERT_TRUE(p2.a.assoc->send(*s2, text("for pair two"), false));
  auto delivered = [&] { return !p1.b.messages(*s1).empty() && !p2.b.messages(*s2).empty(); };
  for (int i = 0; i < 10000 && !delivered(); ++i) {
    p1.step();
    p2.step();
  }
  ASSERT_TRUE(delivered());
  EXPECT_EQ(as_string_view(p1.b.messages(*s1)[0].data), "for pair one");
  EXPECT_EQ(as_string_view(p2.b.messages(*s2)[0].data), "for pair two");
  EXPECT_EQ(p1.b.count<ChannelMessage>(), 1u);
  EXPECT_EQ(p2.b.count<ChannelMessage>(), 1u);
}

TEST(Association, DestroyingOnePeerLeavesTheOtherUsable) {
  Pair p1;
  ASSERT_TRUE(p1.connect_and_wait());
  {
    Pair p2;
    ASSERT_TRUE(p2.connect_and_wait());
  } // destroyed while established: usrsctp may still fire timers for it; they must go nowhere
  p1.run_for(std::chrono::seconds(2));
  StreamId sid = p1.open_and_wait(p1.a, {.label = "after"});
  ASSERT_TRUE(p1.a.assoc->send(sid, text("ok"), false));
  ASSERT_TRUE(p1.drive_until([&] { return !p1.b.messages(sid).empty(); }, 1000, "still works"));
}

} // namespace
} // namespace posthorn::sctp
