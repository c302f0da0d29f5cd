// Data channel transfers through the whole stack (our ICE, OpenSSL DTLS, usrsctp) on a lossy,
// slow, narrow simulated path: a reliable ordered channel delivers 16 MiB intact under loss, a
// partially reliable one never blocks and never duplicates, and a 1280-byte MTU is enough.

#include "support/sim_nat.hpp"
#include "support/sim_net.hpp"
#include "support/sim_peer.hpp"
#include "support/sim_topology.hpp"
#include "support/sim_wall_clock.hpp"

#include <gtest/gtest.h>

#include <sys/time.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <set>

namespace posthorn::sim {
namespace {

using namespace std::chrono_literals;

struct BulkFixture {
  explicit BulkFixture(std::uint64_t seed, LinkConditions conditions,
                       SimPeerConfig config = {.store_messages = false})
      : net(seed), topo(net, NatType::PortRestricted, NatType::FullCone),
        alice(net, "alice", topo.site_a.local_ip, with_stun(config)),
        bob(net, "bob", topo.site_b.local_ip, with_stun(config)) {
    net.record_trace(30);
    net.set_conditions(conditions);
    topo.attach_a(alice, "alice");
    topo.attach_b(bob, "bob");
  }
  SimPeerConfig with_stun(SimPeerConfig c) const {
    c.stun_servers = {topo.stun_address};
    return c;
  }
  /// Opens `options` from alice and returns {alice's id, bob's id} once open on both sides.
  std::pair<rtc::ChannelId, rtc::ChannelId> open(const sctp::ChannelOptions& options,
                                                 Duration budget = 20s) {
    const auto mine = alice.create_channel(options);
    negotiate(alice, bob);
    const bool ok =
        net.drive_until([&] { return alice.is_open(mine) && bob.channel_by_label(options.label); },
                        budget, "channel '" + options.label + "' open on both sides");
    EXPECT_TRUE(ok) << alice.describe() << "\n" << bob.describe();
    return {mine, bob.channel_by_label(options.label).value_or(0)};
  }

  Network net;
  TwoPeerTopology topo;
  SimPeer alice;
  SimPeer bob;
};

double real_seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// usrsctp and OpenSSL read gettimeofday() behind our back; every transfer below relies on it
// following the virtual clock (sim_wall_clock.hpp explains why).
TEST(SimWallClock, GettimeofdayFollowsTheVirtualClockWhileInstalled) {
  Network net(1);
  timeval before{}, start{}, later{}, after{};
  gettimeofday(&before, nullptr);
  {
    VirtualWallClock clock(net);
    ASSERT_TRUE(VirtualWallClock::interposed()) << "libusrsctp would still read the real clock";
    EXPECT_TRUE(VirtualWallClock::installed());
    gettimeofday(&start, nullptr);
    net.run_for(90s);
    gettimeofday(&later, nullptr);
  }
  EXPECT_FALSE(VirtualWallClock::installed());
  gettimeofday(&after, nullptr);
  const auto us = [](const timeval& t) { return std::int64_t{t.tv_sec} * 1'000'000 + t.tv_usec; };
  EXPECT_EQ(us(later) - us(start), 90'000'000) << "exactly the virtual time that passed";
  EXPECT_GE(us(start), us(before));
  EXPECT_GE(us(after), us(later)) << "never goes back when the real clock takes over again";
}

TEST(BulkTransferScenario, SixteenMebibytesSurviveFivePercentLossAtFiftyMsRtt) {
  const auto t0 = std::chrono::steady_clock::now();
  BulkFixture f(41, {.latency = 25ms, .loss = 0.05});
  const auto [ch, bob_ch] = f.open({.label = "bulk"});
  ASSERT_NE(bob_ch, 0u);
  const TimePoint start = f.net.now();

  BulkSender sender(f.alice, ch, {.total = 16 << 20, .chunk = 64 << 10, .seed = 7});
  sender.start();
  ASSERT_TRUE(f.net.drive_until([&] { return f.bob.rx(bob_ch).bytes >= (16u << 20); }, 20min,
                                "16 MiB received"))
      << sender.describe() << "\n"
      << f.alice.describe() << "\n"
      << f.bob.describe();
  EXPECT_TRUE(sender.done());
  EXPECT_EQ(f.bob.rx(bob_ch).bytes, 16u << 20);
  EXPECT_EQ(f.bob.rx(bob_ch).messages, 256u) << "64 KiB messages, each delivered whole";
  EXPECT_EQ(f.bob.rx_digest(bob_ch), sender.digest()) << "same bytes, same order";
  EXPECT_GT(f.net.stats().dropped_loss, 500u) << "the path really was lossy";
  EXPECT_GT(sender.resumes(), 0u) << "back-pressure engaged: " << sender.describe();
  EXPECT_LE(sender.max_buffered(), (1u << 20) + (64u << 10)) << sender.describe();

  const Duration took = f.net.now() - start;
  std::cout << "[ info ] 16 MiB at 5% loss / 50 ms RTT: " << format_virtual(f.net.now())
            << " virtual (" << to_ms(took) / 1000.0 << " s of transfer, "
            << (16.0 * 1024 / (to_ms(took) / 1000.0)) << " KiB/s), dropped "
            << f.net.stats().dropped_loss << " of " << f.net.stats().sent << " datagrams, "
            << real_seconds_since(t0) << " s real\n";
  close_and_drain(f.net, f.alice, f.bob);
}

// RFC 8831 §6.1 / W3C maxRetransmits = 0, ordered = false: each message gets one transmission.
// Over 20 % loss (with duplicated datagrams too) some messages are lost, none arrive twice, and
// the sender is never blocked: abandoned messages free the buffer (RFC 3758 FORWARD-TSN).
TEST(BulkTransferScenario, UnreliableUnorderedChannelLosesSomeNeverDuplicatesNeverBlocks) {
  const auto t0 = std::chrono::steady_clock::now();
  BulkFixture f(44, {.latency = 25ms, .loss = 0.20, .duplicate = 0.05}, {.store_messages = false});
  const auto [ch, bob_ch] =
      f.open({.label = "telemetry", .ordered = false, .max_retransmits = 0}, 60s);
  ASSERT_NE(bob_ch, 0u);
  const auto info = f.bob.pc().channel_info(bob_ch);
  ASSERT_TRUE(info);
  EXPECT_FALSE(info->ordered);
  EXPECT_EQ(info->max_retransmits, std::optional<std::uint16_t>(0));

  constexpr std::uint32_t kMessages = 2000;
  constexpr std::size_t kSize = 100;
  std::multiset<std::uint32_t> seen;
  std::uint64_t corrupt = 0;
  f.bob.on_message = [&](rtc::ChannelId, const Bytes& m, bool) {
    if (m.size() != kSize) {
      ++corrupt;
      return;
    }
    const std::uint32_t n = (std::uint32_t{m[0]} << 24) | (std::uint32_t{m[1]} << 16) |
                            (std::uint32_t{m[2]} << 8) | m[3];
    for (std::size_t i = 4; i < kSize; ++i) {
      if (m[i] != static_cast<std::uint8_t>(n + i)) {
        ++corrupt;
        return;
      }
    }
    seen.insert(n);
  };
  // 10 messages every 50 ms (20 kB/s, well within what the lossy path carries) for 10 virtual
  // seconds, as a game or a sensor would send state updates.
  std::uint32_t next = 0;
  std::vector<std::string> send_errors;
  std::function<void()> tick = [&] {
    for (int i = 0; i < 10 && next < kMessages; ++i, ++next) {
      Bytes m(kSize);
      for (std::size_t k = 0; k < kSize; ++k)
        m[k] = static_cast<std::uint8_t>(next + k);
      m[0] = static_cast<std::uint8_t>(next >> 24);
      m[1] = static_cast<std::uint8_t>(next >> 16);
      m[2] = static_cast<std::uint8_t>(next >> 8);
      m[3] = static_cast<std::uint8_t>(next);
      if (auto r = f.alice.send(ch, m); !r)
        send_errors.push_back(std::to_string(next) + ": " + r.error().message());
    }
    if (next < kMessages) f.net.schedule_in(50ms, tick);
  };
  tick();
  ASSERT_TRUE(f.net.drive_until([&] { return next == kMessages; }, 20s, "all messages sent"));
  EXPECT_TRUE(send_errors.empty()) << "first: " << send_errors.front();
  EXPECT_EQ(f.alice.pc().buffered_amount(ch), 0u) << "nothing waits in our own queue";
  // Let every first transmission land or be abandoned (usrsctp's queue is not observable).
  f.net.run_for(20s);

  const auto delivered = seen.size();
  const std::set<std::uint32_t> distinct(seen.begin(), seen.end());
  EXPECT_EQ(distinct.size(), delivered) << "a message was delivered twice";
  EXPECT_EQ(corrupt, 0u);
  // One transmission each over 20 % loss: about 80 % arrive.
  EXPECT_GT(delivered, kMessages * 7 / 10) << "most first transmissions get through";
  EXPECT_LT(delivered, kMessages * 95 / 100) << "no retransmissions: the lost ones stay lost";
  EXPECT_GT(f.net.stats().duplicated, 0u) << "the network duplicated datagrams";
  EXPECT_TRUE(f.alice.connected() && f.bob.connected()) << f.alice.describe() << "\n"
                                                        << f.bob.describe();
  std::cout << "[ info ] unreliable channel at 20% loss: " << delivered << "/" << kMessages
            << " delivered, " << real_seconds_since(t0) << " s real\n";
  close_and_drain(f.net, f.alice, f.bob);
}

// Our SCTP packets are sized for the IPv6 minimum MTU (sctp::tuning::kMaxPacketSize) and DTLS
// handshake flights for 1200 bytes, so a 1280-byte path carries everything without a single
// oversized datagram.
TEST(BulkTransferScenario, PathMtuOf1280CarriesTheHandshakeAndOneMebibyte) {
  const auto t0 = std::chrono::steady_clock::now();
  BulkFixture f(47, {.latency = 20ms, .mtu = 1280});
  std::size_t largest = 0;
  f.net.set_packet_filter([&](TimePoint, HostId, const Datagram& d) {
    largest = std::max(largest, d.payload.size());
    return Verdict::Pass;
  });
  const auto [ch, bob_ch] = f.open({.label = "file"});
  ASSERT_NE(bob_ch, 0u);
  BulkSender sender(f.alice, ch, {.total = 1 << 20, .chunk = 16 << 10, .seed = 9});
  sender.start();
  ASSERT_TRUE(f.net.drive_until([&] { return f.bob.rx(bob_ch).bytes >= (1u << 20); }, 60s,
                                "1 MiB received"))
      << sender.describe() << "\n"
      << f.alice.describe() << "\n"
      << f.bob.describe();
  EXPECT_EQ(f.bob.rx_digest(bob_ch), sender.digest());
  EXPECT_EQ(f.net.stats().dropped_mtu, 0u) << "largest datagram payload: " << largest << " B";
  // 1280 - 48 (IPv6 + UDP): the same packets would fit an IPv6 minimum-MTU path too.
  EXPECT_LE(largest, 1280u - 48u);
  std::cout << "[ info ] MTU 1280: largest UDP payload " << largest << " B, "
            << real_seconds_since(t0) << " s real\n";
  close_and_drain(f.net, f.alice, f.bob);
}

} // namespace
} // namespace posthorn::sim
