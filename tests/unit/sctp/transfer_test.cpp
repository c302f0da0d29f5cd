// Bulk and lossy transfers between two in-memory associations.

#include "core/crypto.hpp"
#include "sctp/association.hpp"
#include "sctp_pair.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

namespace posthorn::sctp {
namespace {

using testing::Pair;
using testing::Side;

/// Message `i` of a transfer: its index in the first 4 bytes, then a deterministic pattern.
Bytes numbered_message(std::uint32_t i, std::size_t size) {
  Bytes m(size);
  for (std::size_t k = 0; k < size; ++k)
    m[k] = static_cast<std::uint8_t>((i * 131 + k * 7) >> 3);
  std::memcpy(m.data(), &i, std::min<std::size_t>(4, size));
  return m;
}

std::uint32_t index_of(const Bytes& m) {
  std::uint32_t i = 0;
  std::memcpy(&i, m.data(), 4);
  return i;
}

TEST(Transfer, SixteenMebibytesIn64KiBMessagesArriveIntact) {
  auto client = testing::client_config();
  client.send_buffer_limit = 2 * 1024 * 1024;
  Pair p(client);
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "file"});

  constexpr std::size_t kMessage = 64 * 1024;
  constexpr std::size_t kTotal = 16 * 1024 * 1024;
  constexpr std::uint32_t kCount = kTotal / kMessage;
  crypto::Sha256 sent_hash;
  crypto::Sha256 received_hash;
  std::size_t received = 0;
  std::uint32_t received_count = 0;
  bool low = false;
  p.on_event = [&](Side& side, Event& e) {
    if (auto* m = std::get_if<ChannelMessage>(&e)) {
      ASSERT_EQ(&side, &p.b);
      EXPECT_TRUE(m->binary);
      EXPECT_EQ(index_of(m->data), received_count) << "in order";
      received_hash.update(m->data);
      received += m->data.size();
      ++received_count;
    } else if (std::holds_alternative<BufferedAmountLow>(e)) {
      low = true;
    }
  };

  const auto started = std::chrono::steady_clock::now();
  std::uint32_t next = 0;
  Bytes message = numbered_message(next, kMessage); // later ones: only the index changes
  std::size_t blocked = 0;
  while (received < kTotal) {
    while (next < kCount) {
      auto r = p.a.assoc->send(sid, message, true);
      if (!r) {
        ASSERT_EQ(r.error(), Condition::Blocked) << r.error().message();
        ++blocked;
        low = false;
        break;
      }
      sent_hash.update(message);
      if (++next < kCount) std::memcpy(message.data(), &next, sizeof next);
    }
    ASSERT_TRUE(p.step()) << "stalled at " << received << " bytes";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(received_count, kCount);
  EXPECT_EQ(sent_hash.finish(), received_hash.finish());
  EXPECT_GT(blocked, 0u) << "the 2 MiB queue cap should have pushed back";
  EXPECT_EQ(p.b.assoc->stats().oversize_messages_dropped, 0u);
  RecordProperty("MBps", std::to_string(kTotal / seconds / 1e6));
  std::printf("[ info ] 16 MiB through two in-memory associations: %.1f MB/s (%.0f ms CPU, both "
              "sides, one thread)\n",
              kTotal / seconds / 1e6, seconds * 1e3);
}

TEST(Transfer, UnorderedZeroRetransmitChannelOverLossyPathDeliversSomeAndNeverBlocks) {
  auto client = testing::client_config();
  client.send_buffer_limit = 256 * 1024;
  Pair p(client);
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "lossy", .ordered = false, .max_retransmits = 0});
  // 20% loss both ways (SACKs and FORWARD-TSNs too), 15 ms each way: nothing is retransmitted,
  // abandoned messages are skipped with FORWARD-TSN (RFC 3758), sending never pushes back.
  p.loss = 0.2;
  p.latency = milliseconds(15);
  p.rng = SeededRng(2024);
  constexpr std::uint32_t kCount = 2000;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    auto r = p.a.assoc->send(sid, numbered_message(i, 1000), true);
    ASSERT_TRUE(r) << "message " << i << ": " << r.error().message();
    if (i % 8 == 7) p.step();
  }
  // Heavy loss keeps the congestion window tiny: the 2 MB take about 40 virtual seconds.
  p.run_for(std::chrono::seconds(60));
  EXPECT_EQ(p.a.assoc->buffered_amount(sid), 0u);
  auto got = p.b.messages(sid);
  EXPECT_GT(got.size(), kCount * 7 / 10) << "about 80% should arrive";
  EXPECT_LT(got.size(), kCount) << "20% loss with no retransmissions must lose something";
  std::vector<bool> seen(kCount);
  for (const auto& m : got) {
    ASSERT_GE(m.data.size(), 4u);
    const std::uint32_t i = index_of(m.data);
    ASSERT_LT(i, kCount);
    EXPECT_FALSE(seen[i]) << "duplicate " << i;
    seen[i] = true;
    EXPECT_EQ(m.data, numbered_message(i, 1000));
  }
  EXPECT_EQ(p.a.assoc->stats().malformed_packets_dropped, 0u);
  EXPECT_EQ(p.b.assoc->stats().malformed_packets_dropped, 0u);
  // The association is still healthy: a reliable channel works after the lossy burst.
  ASSERT_FALSE(p.a.has<Closed>()) << std::get<Closed>(p.a.events.back()).error.message();
  p.loss = 0.0;
  StreamId reliable = p.open_and_wait(p.a, {.label = "after"});
  ASSERT_TRUE(p.a.assoc->send(reliable, as_bytes("done"), false));
  EXPECT_TRUE(p.drive_until([&] { return !p.b.messages(reliable).empty(); }, 100000, "after loss"));
}

TEST(Transfer, WindowsFillA50MsRoundTrip) {
  // Virtual-time throughput over a 50 ms RTT: the buffers of tuning.hpp must let the congestion
  // window grow to megabytes (usrsctp's 256 KiB default would cap this at ~5 MB/s).
  Pair p;
  p.latency = milliseconds(25);
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "wan"});
  constexpr std::size_t kMessage = 64 * 1024;
  constexpr std::size_t kTotal = 32 * 1024 * 1024;
  const Bytes message(kMessage, 0x42);
  std::size_t sent = 0;
  std::size_t received = 0;
  p.on_event = [&](Side&, Event& e) {
    if (auto* m = std::get_if<ChannelMessage>(&e)) received += m->data.size();
  };
  const TimePoint start = p.now();
  while (received < kTotal) {
    while (sent < kTotal && p.a.assoc->send(sid, message, true))
      sent += kMessage;
    ASSERT_TRUE(p.step());
  }
  const double seconds = std::chrono::duration<double>(p.now() - start).count();
  std::printf("[ info ] 32 MiB over a 50 ms RTT in %.2f virtual s: %.1f MB/s\n", seconds,
              kTotal / seconds / 1e6);
  EXPECT_LT(seconds, 2.0);
}

TEST(Transfer, ReliableChannelOverFivePercentLossDeliversEverythingInOrder) {
  Pair p;
  p.latency = milliseconds(10);
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "reliable"});
  p.loss = 0.05;
  p.rng = SeededRng(77);
  constexpr std::uint32_t kCount = 400;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(p.a.assoc->send(sid, numbered_message(i, 1500), true));
    if (i % 4 == 3) p.step();
  }
  ASSERT_TRUE(p.drive_until([&] { return p.b.messages(sid).size() == kCount; }, 1000000,
                            "all delivered despite loss"));
  auto got = p.b.messages(sid);
  for (std::uint32_t i = 0; i < kCount; ++i)
    ASSERT_EQ(got[i].data, numbered_message(i, 1500)) << "message " << i;
}

TEST(Transfer, SmallMessagesSentTogetherSharePackets) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = p.open_and_wait(p.a, {.label = "small"});
  // One message alone goes out at once, in its own packet (no Nagle delay).
  const auto before = p.a.packets_out;
  ASSERT_TRUE(p.a.assoc->send(sid, as_bytes("ping"), false));
  ASSERT_TRUE(p.a.assoc->poll_transmit());
  // A burst between two polls is bundled: ~10 messages of 100 bytes per packet.
  std::size_t received = 0;
  p.on_event = [&](Side&, Event& e) {
    if (std::holds_alternative<ChannelMessage>(e)) ++received;
  };
  const Bytes m(100, 1);
  constexpr std::size_t kCount = 100000;
  std::size_t sent = 0;
  const auto started = std::chrono::steady_clock::now();
  while (received < kCount) {
    for (int k = 0; k < 64 && sent < kCount && p.a.assoc->send(sid, m, true); ++k)
      ++sent;
    ASSERT_TRUE(p.step());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto packets = p.a.packets_out - before;
  EXPECT_LT(packets, kCount / 5) << "bursts must share packets";
  std::printf("[ info ] 100-byte messages: %.0f per second through both sides on one thread, "
              "%.1f per packet\n",
              kCount / seconds, static_cast<double>(kCount) / static_cast<double>(packets));
}

TEST(Transfer, UnorderedChannelSendsOrderedUntilThePeerAnswers) {
  // RFC 8832 §6: before the DATA_CHANNEL_ACK, data must not overtake the OPEN. Send right after
  // open_channel, before any packet moved: everything still arrives, after the channel opened.
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  auto sid = p.a.assoc->open_channel({.label = "u", .ordered = false});
  ASSERT_TRUE(sid);
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(p.a.assoc->send(*sid, numbered_message(static_cast<std::uint32_t>(i), 100), true));
  ASSERT_TRUE(p.drive_until([&] { return p.b.messages(*sid).size() == 20; }, 10000, "early data"));
  EXPECT_EQ(p.b.assoc->stats().unknown_stream_dropped, 0u);
}

} // namespace
} // namespace posthorn::sctp
