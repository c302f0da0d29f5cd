// usrsctp reads the wall clock (gettimeofday) for RTT samples, for deciding whether a T3 expiry
// may retransmit a chunk (sctp_mark_all_for_resend), for HEARTBEAT pacing and PR-SCTP lifetimes,
// while its timers tick by usrsctp_handle_timers. Under a virtual clock those disagree: a T3
// expiry after 200 virtual ms finds the chunk sent "microseconds ago" and retransmits nothing.
//
// This test executable therefore interposes gettimeofday: the definition below wins over glibc's
// for libusrsctp (the executable comes first in symbol lookup), so usrsctp sees the same virtual
// time as the Associations. Other test binaries that drive Associations under a virtual clock
// (the rtc/sim harness) need the same thing.

#include "sctp/testing.hpp"
#include "sctp_pair.hpp"

#include <gtest/gtest.h>

#include <sys/time.h>

extern "C" int gettimeofday(struct timeval* __restrict tv, void* __restrict) noexcept {
  const auto since_epoch = posthorn::sctp::testing::virtual_now().time_since_epoch();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count();
  tv->tv_sec = static_cast<time_t>(us / 1000000);
  tv->tv_usec = static_cast<suseconds_t>(us % 1000000);
  return 0;
}

namespace posthorn::sctp {
namespace {

TEST(VirtualWallClock, UsrsctpMeasuresRoundTripsInVirtualTime) {
  testing::Pair p;
  p.latency = milliseconds(40); // 80 ms round trip
  ASSERT_TRUE(p.connect_and_wait());
  auto sid = p.a.assoc->open_channel({.label = "rtt"});
  ASSERT_TRUE(sid);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(p.a.assoc->send(*sid, Bytes(100, 1), true));
    p.run_for(milliseconds(200));
  }
  auto status = AssociationTesting::status(*p.a.assoc);
  ASSERT_TRUE(status);
  EXPECT_GE(status->srtt_ms, 70u);
  EXPECT_LE(status->srtt_ms, 130u);
}

TEST(VirtualWallClock, PartialReliabilityByLifetimeExpiresInVirtualTime) {
  // A timed channel (RFC 8831 §6.1) over a dead path: messages past their lifetime are abandoned
  // (FORWARD-TSN) instead of retransmitted forever, so later ones arrive once the path is back.
  testing::Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  auto sid = p.a.assoc->open_channel(
      {.label = "ttl", .ordered = true, .max_packet_lifetime = milliseconds(300)});
  ASSERT_TRUE(sid);
  ASSERT_TRUE(p.drive_until([&] { return p.b.opened(*sid).has_value(); }, 1000, "open"));
  bool dead = true;
  p.a.tap = [&](const Bytes&) { return !dead; };
  ASSERT_TRUE(p.a.assoc->send(*sid, as_bytes("expired"), false));
  p.run_for(std::chrono::seconds(2));
  dead = false;
  ASSERT_TRUE(p.a.assoc->send(*sid, as_bytes("fresh"), false));
  ASSERT_TRUE(p.drive_until([&] { return !p.b.messages(*sid).empty(); }, 100000, "fresh"));
  EXPECT_EQ(as_string_view(p.b.messages(*sid)[0].data), "fresh");
}

} // namespace
} // namespace posthorn::sctp
