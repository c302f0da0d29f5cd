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

StreamId open_and_wait(Pair& p, Side& opener, const ChannelOptions& options) {
  auto sid = opener.assoc->open_channel(options);
  EXPECT_TRUE(sid);
  if (!sid) return 0;
  Side& other = &opener == &p.a ? p.b : p.a;
  p.drive_until([&] { return opener.opened(*sid) && other.opened(*sid); }, 10000, "channel open");
  return *sid;
}

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
  StreamId sid = open_and_wait(p, p.a, {.label = "file"});

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
  StreamId sid = open_and_wait(p, p.a, {.label = "lossy", .ordered = false, .max_retransmits = 0});
  // 20% loss both ways (SACKs and FORWARD-TSNs too): nothing is retransmitted, nothing stalls
  // and sending never pushes back. The lossy phase is kept to a few virtual seconds: usrsctp
  // decides whether a T3 expiry retransmits by the wall clock (docs/sctp.md), so a long lossy run
  // under a virtual clock that races ahead of real time can exhaust the retransmission limit.
  p.loss = 0.2;
  p.rng = SeededRng(2024);
  constexpr std::uint32_t kCount = 2000;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    auto r = p.a.assoc->send(sid, numbered_message(i, 1000), true);
    ASSERT_TRUE(r) << "message " << i << ": " << r.error().message();
    if (i % 8 == 7) p.step();
  }
  p.run_for(std::chrono::seconds(3));
  EXPECT_EQ(p.a.assoc->buffered_amount(sid), 0u);
  auto got = p.b.messages(sid);
  EXPECT_GT(got.size(), 0u);
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
  // The association is still healthy: a reliable channel works after the lossy burst.
  ASSERT_FALSE(p.a.has<Closed>()) << std::get<Closed>(p.a.events.back()).error.message();
  p.loss = 0.0;
  StreamId reliable = open_and_wait(p, p.a, {.label = "after"});
  ASSERT_TRUE(p.a.assoc->send(reliable, as_bytes("done"), false));
  EXPECT_TRUE(p.drive_until([&] { return !p.b.messages(reliable).empty(); }, 100000, "after loss"));
}

TEST(Transfer, ReliableChannelOverFivePercentLossDeliversEverythingInOrder) {
  Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  StreamId sid = open_and_wait(p, p.a, {.label = "reliable"});
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
