#include "room/reassembler.hpp"

#include "core/overloaded.hpp"
#include "room/chunk.hpp"
#include "room/utf8.hpp"
#include "room_test_util.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace posthorn::room {
namespace {

using test::chunks_of;
using test::text_of;

std::vector<ReassemblerEvent> drain(Reassembler& r) {
  std::vector<ReassemblerEvent> out;
  while (auto e = r.poll_event())
    out.push_back(std::move(*e));
  return out;
}

template <class T> std::vector<T> only(const std::vector<ReassemblerEvent>& events) {
  std::vector<T> out;
  for (const auto& e : events)
    if (const auto* t = std::get_if<T>(&e)) out.push_back(*t);
  return out;
}

std::vector<ReassemblerEvent> feed(Reassembler& r, const std::string& peer,
                                   const std::vector<Bytes>& chunks) {
  for (const auto& c : chunks)
    r.handle_chunk(peer, c);
  return drain(r);
}

Bytes pattern(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i)
    b[i] = static_cast<std::uint8_t>((i * 7) & 255);
  return b;
}

std::string snowmen(std::size_t count) {
  std::string s;
  for (std::size_t i = 0; i < count; ++i)
    s += "\xe2\x98\x83";
  return s;
}

TEST(ActionWire, Tv11MessagesRoundTrip) {
  struct Row {
    PayloadKind kind;
    Bytes payload;
    std::optional<std::string> meta;
  };
  const std::vector<Row> rows = {
      {PayloadKind::Json, to_bytes(R"({"msg":"hi"})"), {}},
      {PayloadKind::Text, to_bytes("hello"), {}},
      {PayloadKind::Binary, {1, 2, 3}, {}},
      {PayloadKind::Json, to_bytes("42"), {}},
      {PayloadKind::Json, to_bytes("null"), {}},
      {PayloadKind::Text, to_bytes("x"), R"({"a":1})"},
      {PayloadKind::Text, {}, R"({"a":1})"},
      {PayloadKind::Binary, pattern(40000), {}},
      {PayloadKind::Binary, pattern(40000), R"({"name":"f"})"},
      {PayloadKind::Binary, Bytes(16348, 0), {}},
      {PayloadKind::Binary, {}, {}},
      {PayloadKind::Text, to_bytes("h\xc3\xa9llo \xe2\x98\x83"), {}},
  };
  Reassembler r;
  std::uint16_t nonce = 0;
  for (const auto& row : rows) {
    const auto chunks = chunks_of("chat", nonce, row.kind, ByteView(row.payload), row.meta);
    const auto events = feed(r, "peer", chunks);
    const auto progress = only<Progress>(events);
    ASSERT_EQ(progress.size(), chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i)
      EXPECT_DOUBLE_EQ(progress[i].fraction, chunks[i][35] / 255.0);
    EXPECT_DOUBLE_EQ(progress.back().fraction, 1.0);
    const auto complete = only<Complete>(events);
    ASSERT_EQ(complete.size(), 1u) << nonce;
    EXPECT_EQ(complete[0].peer, "peer");
    EXPECT_EQ(complete[0].type, "chat");
    EXPECT_EQ(complete[0].nonce, nonce);
    EXPECT_EQ(complete[0].kind, row.kind);
    EXPECT_EQ(complete[0].data, row.payload);
    EXPECT_EQ(complete[0].metadata_json, row.meta);
    ++nonce;
  }
  EXPECT_EQ(r.total_buffered_bytes(), 0u);
  EXPECT_EQ(r.partial_messages("peer"), 0u);
  EXPECT_EQ(r.stats().completed_messages, rows.size());
}

TEST(ActionWire, ProgressCarriesMetadataFromTheFirstChunkOn) {
  Reassembler r;
  const auto events =
      feed(r, "p", chunks_of("f", 0, PayloadKind::Binary, ByteView(pattern(20000)), "[1]"));
  const auto progress = only<Progress>(events);
  ASSERT_EQ(progress.size(), 3u);
  for (const auto& p : progress)
    EXPECT_EQ(p.metadata_json, "[1]");
  EXPECT_EQ(progress[0].fraction, 0x55 / 255.0);
}

TEST(ActionWire, MultiByteCharactersMayStraddleChunks) {
  // 16348 is not a multiple of 3, so chunk boundaries cut snowmen in two.
  const std::string text = snowmen(20000);
  Reassembler r;
  const auto chunks = chunks_of("chat", 0, PayloadKind::Text, text);
  ASSERT_EQ(chunks.size(), 4u);
  const auto complete = only<Complete>(feed(r, "p", chunks));
  ASSERT_EQ(complete.size(), 1u);
  EXPECT_EQ(text_of(complete[0].data), text);
}

// The receiver sizes its buffer from the progress byte (§8.1) once it says enough. Whatever the
// byte says (honest, stuck at 255, stuck at 0, or jumping around), the message arrives whole.
TEST(ActionWire, ProgressBytesOnlyGuideTheBufferSizeNeverTheContent) {
  const Bytes payload = pattern(3 * 1024 * 1024 + 5);
  const std::vector<std::function<std::uint8_t(std::size_t, std::uint8_t)>> rewrite = {
      [](std::size_t, std::uint8_t honest) { return honest; },
      [](std::size_t, std::uint8_t) { return std::uint8_t{255}; },
      [](std::size_t, std::uint8_t) { return std::uint8_t{0}; },
      [](std::size_t i, std::uint8_t) { return static_cast<std::uint8_t>((i * 37) % 256); },
  };
  for (std::size_t variant = 0; variant < rewrite.size(); ++variant) {
    auto chunks = chunks_of("file", 7, PayloadKind::Binary, ByteView(payload), R"({"n":1})");
    ASSERT_GT(chunks.size(), 190u);
    for (std::size_t i = 0; i < chunks.size(); ++i)
      chunks[i][35] = rewrite[variant](i, chunks[i][35]);
    Reassembler r;
    const auto complete = only<Complete>(feed(r, "p", chunks));
    ASSERT_EQ(complete.size(), 1u) << "variant " << variant;
    EXPECT_EQ(complete[0].data, payload) << "variant " << variant;
    EXPECT_EQ(r.total_buffered_bytes(), 0u);
  }
}

TEST(ActionWire, ReassemblesInterleavedNonces) {
  Reassembler r;
  const Bytes a = pattern(50000);
  const Bytes b(40000, 0x42);
  const auto ca = chunks_of("file", 1, PayloadKind::Binary, ByteView(a));
  const auto cb = chunks_of("file", 2, PayloadKind::Binary, ByteView(b), "{}");
  std::vector<Bytes> mixed;
  for (std::size_t i = 0; i < std::max(ca.size(), cb.size()); ++i) {
    if (i < cb.size()) mixed.push_back(cb[i]);
    if (i < ca.size()) mixed.push_back(ca[i]);
  }
  const auto complete = only<Complete>(feed(r, "p", mixed));
  ASSERT_EQ(complete.size(), 2u);
  for (const auto& c : complete) {
    if (c.nonce == 1) {
      EXPECT_EQ(c.data, a);
      EXPECT_FALSE(c.metadata_json);
    } else {
      EXPECT_EQ(c.nonce, 2);
      EXPECT_EQ(c.data, b);
      EXPECT_EQ(c.metadata_json, "{}");
    }
  }
}

TEST(ActionWire, SameNonceFromTwoPeersIsTwoMessages) {
  Reassembler r;
  const auto a = chunks_of("chat", 0, PayloadKind::Text, snowmen(6000));
  const auto b = chunks_of("chat", 0, PayloadKind::Text, std::string(20000, 'b'));
  r.handle_chunk("A", a[0]);
  r.handle_chunk("B", b[0]);
  r.handle_chunk("A", a[1]);
  r.handle_chunk("B", b[1]);
  const auto complete = only<Complete>(drain(r));
  ASSERT_EQ(complete.size(), 2u);
  EXPECT_EQ(complete[0].peer, "A");
  EXPECT_EQ(text_of(complete[0].data), snowmen(6000));
  EXPECT_EQ(complete[1].peer, "B");
  EXPECT_EQ(text_of(complete[1].data), std::string(20000, 'b'));
}

TEST(ActionWire, TextIsDecodedLikeTextDecoder) {
  Reassembler r;
  const auto complete = only<Complete>(feed(r, "p",
                                            chunks_of("t", 0, PayloadKind::Text,
                                                      "\xef\xbb\xbf"
                                                      "a\xffz")));
  ASSERT_EQ(complete.size(), 1u);
  EXPECT_EQ(text_of(complete[0].data), "a\xef\xbf\xbdz");
}

TEST(ActionWire, BinaryIsNeverDecoded) {
  Reassembler r;
  const Bytes raw = {0xef, 0xbb, 0xbf, 0xff};
  const auto complete =
      only<Complete>(feed(r, "p", chunks_of("t", 0, PayloadKind::Binary, ByteView(raw))));
  ASSERT_EQ(complete.size(), 1u);
  EXPECT_EQ(complete[0].data, raw);
}

TEST(ActionWire, JsonThatDoesNotParseIsDropped) {
  Reassembler r;
  const auto events = feed(r, "p", chunks_of("j", 3, PayloadKind::Json, "{nope"));
  EXPECT_TRUE(only<Complete>(events).empty());
  const auto dropped = only<Dropped>(events);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].type, "j");
  EXPECT_EQ(dropped[0].nonce, 3);
  EXPECT_NE(dropped[0].reason.find("JSON"), std::string::npos);
  EXPECT_EQ(r.stats().dropped_messages, 1u);
}

TEST(ActionWire, BadMetadataDropsTheWholeMessageButNotTheNext) {
  Reassembler r;
  auto chunks = chunks_of("f", 0, PayloadKind::Binary, ByteView(pattern(40000)), "{\"ok\":1}");
  // Corrupt the metadata chunk's JSON.
  chunks[0][36] = '[';
  auto events = feed(r, "p", chunks);
  EXPECT_TRUE(only<Complete>(events).empty());
  ASSERT_EQ(only<Dropped>(events).size(), 1u);
  EXPECT_EQ(r.stats().discarded_chunks, 3u); // the rest was swallowed, not mistaken for a message
  EXPECT_EQ(r.partial_messages("p"), 0u);
  events = feed(r, "p", chunks_of("f", 1, PayloadKind::Text, "next"));
  ASSERT_EQ(only<Complete>(events).size(), 1u);
}

TEST(ActionWire, OversizedMessageIsDroppedAndThePeerKeepsWorking) {
  Reassembler r(
      ReassemblerLimits{.max_buffered_bytes_per_peer = 1 << 20, .max_message_bytes = 30000});
  auto events = feed(r, "p", chunks_of("big", 0, PayloadKind::Binary, ByteView(pattern(60000))));
  EXPECT_TRUE(only<Complete>(events).empty());
  const auto dropped = only<Dropped>(events);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].type, "big");
  EXPECT_NE(dropped[0].reason.find("30000 bytes"), std::string::npos) << dropped[0].reason;
  EXPECT_EQ(only<Progress>(events).size(), 1u); // only the chunk accepted before the limit
  EXPECT_EQ(r.buffered_bytes("p"), 0u);
  EXPECT_EQ(r.partial_messages("p"), 0u);
  events = feed(r, "p", chunks_of("big", 1, PayloadKind::Binary, ByteView(pattern(20000))));
  const auto complete = only<Complete>(events);
  ASSERT_EQ(complete.size(), 1u);
  EXPECT_EQ(complete[0].data, pattern(20000));
}

TEST(ActionWire, PeerBudgetEvictsTheLeastRecentlyActiveMessage) {
  Reassembler r(
      ReassemblerLimits{.max_buffered_bytes_per_peer = 40000, .max_message_bytes = 40000});
  const auto stale = chunks_of("f", 1, PayloadKind::Binary, ByteView(pattern(49044)));
  const auto fresh = chunks_of("f", 2, PayloadKind::Binary, ByteView(pattern(49044)));
  // The sender abandoned message 1 after two chunks (32696 bytes held).
  r.handle_chunk("p", stale[0]);
  r.handle_chunk("p", stale[1]);
  EXPECT_EQ(r.buffered_bytes("p"), 32696u);
  (void)drain(r);
  // Message 2 needs room: message 1 is evicted.
  r.handle_chunk("p", fresh[0]);
  auto events = drain(r);
  auto dropped = only<Dropped>(events);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].nonce, 1);
  EXPECT_LE(r.buffered_bytes("p"), 40000u);
  // Message 2 alone is over the message limit in the end.
  r.handle_chunk("p", fresh[1]);
  r.handle_chunk("p", fresh[2]);
  events = drain(r);
  dropped = only<Dropped>(events);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].nonce, 2);
  EXPECT_EQ(r.buffered_bytes("p"), 0u);
  EXPECT_EQ(r.total_buffered_bytes(), 0u);
}

TEST(ActionWire, BudgetIsPerPeer) {
  Reassembler r(
      ReassemblerLimits{.max_buffered_bytes_per_peer = 20000, .max_message_bytes = 20000});
  const auto a = chunks_of("f", 0, PayloadKind::Binary, ByteView(pattern(19000)));
  const auto b = chunks_of("f", 0, PayloadKind::Binary, ByteView(pattern(19000)));
  r.handle_chunk("A", a[0]);
  r.handle_chunk("B", b[0]);
  EXPECT_TRUE(only<Dropped>(drain(r)).empty());
  r.handle_chunk("A", a[1]);
  r.handle_chunk("B", b[1]);
  EXPECT_EQ(only<Complete>(drain(r)).size(), 2u);
}

TEST(ActionWire, TooManyPartialMessagesEvictsTheOldest) {
  Reassembler r(ReassemblerLimits{.max_partial_messages_per_peer = 3});
  std::vector<std::vector<Bytes>> messages;
  for (std::uint16_t n = 0; n < 5; ++n)
    messages.push_back(chunks_of("m", n, PayloadKind::Binary, ByteView(pattern(20000))));
  for (const auto& m : messages)
    r.handle_chunk("p", m[0]);
  EXPECT_EQ(r.partial_messages("p"), 3u);
  const auto dropped = only<Dropped>(drain(r));
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_EQ(dropped[0].nonce, 0);
  EXPECT_EQ(dropped[1].nonce, 1);
  // The evicted ones' tails are swallowed; the kept ones complete.
  for (const auto& m : messages)
    r.handle_chunk("p", m[1]);
  const auto complete = only<Complete>(drain(r));
  ASSERT_EQ(complete.size(), 3u);
  EXPECT_EQ(complete[0].nonce, 2);
  EXPECT_EQ(r.partial_messages("p"), 0u);
}

TEST(ActionWire, AMetadataChunkForAKeyInUseSupersedesTheAbandonedMessage) {
  Reassembler r;
  const auto old_message = chunks_of("f", 9, PayloadKind::Binary, ByteView(pattern(40000)));
  r.handle_chunk("p", old_message[0]); // then the sender gave up on it
  (void)drain(r);
  const auto events = feed(r, "p", chunks_of("f", 9, PayloadKind::Text, "new", std::string("{}")));
  const auto dropped = only<Dropped>(events);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_NE(dropped[0].reason.find("abandoned"), std::string::npos);
  const auto complete = only<Complete>(events);
  ASSERT_EQ(complete.size(), 1u);
  EXPECT_EQ(text_of(complete[0].data), "new");
}

TEST(ActionWire, MalformedChunkIsReported) {
  Reassembler r;
  r.handle_chunk("p", Bytes(10, 0));
  const auto dropped = only<Dropped>(drain(r));
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_TRUE(dropped[0].type.empty());
  EXPECT_FALSE(dropped[0].nonce);
  EXPECT_EQ(r.stats().malformed_chunks, 1u);
}

TEST(ActionWire, ForgetPeerReleasesItsMessagesAndEvents) {
  Reassembler r;
  const auto chunks = chunks_of("f", 0, PayloadKind::Binary, ByteView(pattern(40000)));
  r.handle_chunk("A", chunks[0]);
  r.handle_chunk("B", chunks[0]);
  EXPECT_GT(r.total_buffered_bytes(), 0u);
  r.forget_peer("A");
  EXPECT_EQ(r.buffered_bytes("A"), 0u);
  EXPECT_EQ(r.total_buffered_bytes(), r.buffered_bytes("B"));
  const auto events = drain(r);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::get<Progress>(events[0]).peer, "B");
}

TEST(ActionStreaming, BigMessageIsDeliveredInPiecesWithoutBuffering) {
  Reassembler r(ReassemblerLimits{.max_buffered_bytes_per_peer = 1000, .max_message_bytes = 1000});
  r.set_streaming(
      [](const std::string& peer, std::string_view type) { return peer == "p" && type == "file"; });
  const Bytes payload = pattern(100000);
  const auto chunks = chunks_of("file", 4, PayloadKind::Binary, ByteView(payload), "{\"n\":1}");
  Bytes received;
  std::size_t pieces = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    r.handle_chunk("p", chunks[i]);
    EXPECT_LE(r.buffered_bytes("p"), 7u); // only the metadata text is held
    for (auto& e : drain(r)) {
      if (auto* c = std::get_if<Chunk>(&e)) {
        ++pieces;
        EXPECT_EQ(c->kind, PayloadKind::Binary);
        EXPECT_EQ(c->nonce, 4);
        EXPECT_EQ(c->metadata_json, "{\"n\":1}");
        EXPECT_EQ(c->last, i + 1 == chunks.size());
        received.insert(received.end(), c->data.begin(), c->data.end());
      }
      EXPECT_FALSE(std::holds_alternative<Complete>(e));
      EXPECT_FALSE(std::holds_alternative<Dropped>(e));
    }
  }
  EXPECT_EQ(pieces, chunks.size() - 1); // the metadata chunk yields only Progress
  EXPECT_EQ(received, payload);
  EXPECT_EQ(r.partial_messages("p"), 0u);
  EXPECT_EQ(r.stats().completed_messages, 1u);
}

TEST(ActionStreaming, StreamedTextPiecesAreValidUtf8) {
  Reassembler r;
  r.set_streaming([](const std::string&, std::string_view) { return true; });
  const std::string text = snowmen(20000);
  std::string joined;
  for (const auto& c : chunks_of("t", 0, PayloadKind::Text, text)) {
    r.handle_chunk("p", c);
    for (auto& piece : only<Chunk>(drain(r))) {
      EXPECT_TRUE(is_valid_utf8(piece.data));
      joined += text_of(piece.data);
    }
  }
  EXPECT_EQ(joined, text);
}

TEST(ActionStreaming, EmptyMessageWithMetadataYieldsOneLastPiece) {
  Reassembler r;
  r.set_streaming([](const std::string&, std::string_view) { return true; });
  const auto pieces =
      only<Chunk>(feed(r, "p", chunks_of("t", 0, PayloadKind::Text, "", std::string("1"))));
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_TRUE(pieces[0].last);
  EXPECT_TRUE(pieces[0].data.empty());
  EXPECT_EQ(pieces[0].metadata_json, "1");
}

TEST(ActionStreaming, ChosenPerMessageAtItsFirstChunk) {
  Reassembler r;
  bool stream = false;
  r.set_streaming([&](const std::string&, std::string_view) { return stream; });
  const auto first = chunks_of("t", 0, PayloadKind::Text, std::string(20000, 'a'));
  r.handle_chunk("p", first[0]);
  stream = true; // too late for message 0
  r.handle_chunk("p", first[1]);
  auto events = drain(r);
  EXPECT_EQ(only<Complete>(events).size(), 1u);
  EXPECT_TRUE(only<Chunk>(events).empty());
  events = feed(r, "p", chunks_of("t", 1, PayloadKind::Text, "b"));
  EXPECT_EQ(only<Chunk>(events).size(), 1u);
}

TEST(ActionStreaming, EvictedStreamIsReportedDropped) {
  Reassembler r(ReassemblerLimits{.max_partial_messages_per_peer = 1});
  r.set_streaming([](const std::string&, std::string_view) { return true; });
  const auto a = chunks_of("f", 0, PayloadKind::Binary, ByteView(pattern(20000)));
  const auto b = chunks_of("f", 1, PayloadKind::Binary, ByteView(pattern(20000)));
  r.handle_chunk("p", a[0]);
  r.handle_chunk("p", b[0]);
  r.handle_chunk("p", a[1]); // swallowed
  r.handle_chunk("p", b[1]);
  const auto events = drain(r);
  const auto dropped = only<Dropped>(events);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].nonce, 0);
  const auto pieces = only<Chunk>(events);
  ASSERT_EQ(pieces.size(), 3u); // a[0], b[0], b[1]
  EXPECT_TRUE(pieces.back().last);
  EXPECT_EQ(pieces.back().nonce, 1);
}

} // namespace
} // namespace posthorn::room
