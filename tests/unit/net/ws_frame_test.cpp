// WebSocket framing (RFC 6455 §5) as posthorn relay reads and writes it: the examples of §5.7,
// fragments, control frames in between, the limits, and every failure a receiver must detect.
#include "net/ws_frame.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace posthorn::net::ws {
namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list)
    out.push_back(static_cast<char>(b));
  return out;
}

struct Read {
  std::vector<Received> messages; // views copied into `texts`
  std::vector<std::string> texts;
  std::optional<ReadFailure> failure;
};

// Feeds `wire` in pieces of `step` bytes (0: all at once) and collects what the reader returns.
Read read_all(std::string wire, ReaderLimits limits, std::size_t step = 0) {
  MessageReader reader(limits);
  Read out;
  if (step == 0) step = wire.size() ? wire.size() : 1;
  std::vector<std::string> pieces; // kept alive while the reader may look at them
  for (std::size_t at = 0; at < wire.size() && !out.failure; at += step) {
    pieces.push_back(wire.substr(at, step));
    reader.feed(std::span<char>(pieces.back().data(), pieces.back().size()));
    for (;;) {
      auto r = reader.next();
      if (std::holds_alternative<NeedMore>(r)) break;
      if (auto* f = std::get_if<ReadFailure>(&r)) {
        out.failure = *f;
        break;
      }
      auto m = std::get<Received>(r);
      out.texts.emplace_back(m.payload);
      out.messages.push_back(m);
    }
  }
  return out;
}

const ReaderLimits kServer{.max_message_bytes = 1u << 20, .expect_masked = true};
const ReaderLimits kClient{.max_message_bytes = 1u << 20, .expect_masked = false};

TEST(WsFrame, TheExamplesOfSection5_7ReadAsTheRfcSays) {
  // A single-frame unmasked text message, as a client reads it.
  auto r = read_all(bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), kClient);
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.messages[0].opcode, Opcode::Text);
  EXPECT_EQ(r.texts[0], "Hello");
  // A single-frame masked text message, as a server reads it.
  r = read_all(bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}), kServer);
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.texts[0], "Hello");
  // A fragmented unmasked text message: "Hel" then "lo".
  r = read_all(bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f}), kClient);
  ASSERT_EQ(r.texts.size(), 1u);
  EXPECT_EQ(r.texts[0], "Hello");
  // An unmasked Ping, and a masked Pong, each with "Hello".
  r = read_all(bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), kClient);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].opcode, Opcode::Ping);
  EXPECT_EQ(r.texts[0], "Hello");
  r = read_all(bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}), kServer);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].opcode, Opcode::Pong);
  EXPECT_EQ(r.texts[0], "Hello");
}

TEST(WsFrame, LengthsUseTheShortestOfTheThreeEncodings) {
  std::string out;
  append_frame(out, Opcode::Binary, std::string(256, 'x'));
  EXPECT_EQ(out.substr(0, 4), bytes({0x82, 0x7e, 0x01, 0x00})); // §5.7: 256 bytes
  out.clear();
  append_frame(out, Opcode::Binary, std::string(65536, 'x'));
  EXPECT_EQ(out.substr(0, 10), bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0})); // §5.7: 64 KiB
  out.clear();
  append_frame(out, Opcode::Text, std::string(125, 'x'));
  EXPECT_EQ(out.substr(0, 2), bytes({0x81, 125}));
  EXPECT_EQ(out.size(), 127u);
}

TEST(WsFrame, TheHandshakeAcceptValueOfSection1_3) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsFrame, WhatOneSideWritesTheOtherReadsWhateverTheReadsBoundaries) {
  std::string wire;
  append_masked_frame(wire, Opcode::Text, R"(["REQ","sub",{"kinds":[24242]}])", 0x01020304);
  append_masked_frame(wire, Opcode::Ping, "are you there", 0xdeadbeef);
  append_masked_frame(wire, Opcode::Binary, std::string(70000, '\x7f'), 0xa5a5a5a5);
  append_masked_frame(wire, Opcode::Text, "h\xc3\xa9", 0x11223344, /*fin=*/false);
  append_masked_frame(wire, Opcode::Continuation, "llo", 0x55667788);
  for (std::size_t step : {0u, 1u, 2u, 3u, 7u, 100u, 4096u}) {
    SCOPED_TRACE(step);
    const auto r = read_all(wire, kServer, step);
    ASSERT_FALSE(r.failure) << r.failure->why;
    ASSERT_EQ(r.texts.size(), 4u);
    EXPECT_EQ(r.texts[0], R"(["REQ","sub",{"kinds":[24242]}])");
    EXPECT_EQ(r.messages[1].opcode, Opcode::Ping);
    EXPECT_EQ(r.texts[1], "are you there");
    EXPECT_EQ(r.messages[2].opcode, Opcode::Binary);
    EXPECT_EQ(r.texts[2], std::string(70000, '\x7f'));
    EXPECT_EQ(r.texts[3], "h\xc3\xa9llo");
  }
}

TEST(WsFrame, ControlFramesMayComeBetweenTheFragmentsOfAMessage) {
  std::string wire;
  append_frame(wire, Opcode::Text, "one ", false);
  append_frame(wire, Opcode::Ping, "p");
  append_frame(wire, Opcode::Continuation, "two ", false);
  append_frame(wire, Opcode::Pong, "q");
  append_frame(wire, Opcode::Continuation, "three", true);
  const auto r = read_all(wire, kClient);
  ASSERT_FALSE(r.failure);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].opcode, Opcode::Ping);
  EXPECT_EQ(r.messages[1].opcode, Opcode::Pong);
  EXPECT_EQ(r.messages[2].opcode, Opcode::Text);
  EXPECT_EQ(r.texts[2], "one two three");
}

TEST(WsFrame, ACloseFrameCarriesItsStatusAndReason) {
  std::string wire;
  append_frame(wire, Opcode::Close, close_payload(close_code::kGoingAway, "bye"));
  auto r = read_all(wire, kClient);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].opcode, Opcode::Close);
  EXPECT_EQ(r.messages[0].close_code, close_code::kGoingAway);
  EXPECT_EQ(r.texts[0], "bye");
  wire.clear();
  append_frame(wire, Opcode::Close, "");
  r = read_all(wire, kClient);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].close_code, close_code::kNoStatus);
}

TEST(WsFrame, ACloseReasonIsCutToTheControlFrameLimitAtACharacterBoundary) {
  std::string reason;
  for (int i = 0; i < 100; ++i)
    reason += "\xc3\xa9"; // 200 bytes of two-byte characters
  const auto payload = close_payload(close_code::kPolicyViolation, reason);
  EXPECT_LE(payload.size(), 125u);
  EXPECT_EQ(payload.size() % 2, 0u) << "cut inside a character";
  std::string wire;
  append_frame(wire, Opcode::Close, payload);
  EXPECT_FALSE(read_all(wire, kClient).failure);
}

struct Broken {
  const char* name;
  std::string wire;
  std::uint16_t code;
};

TEST(WsFrame, EveryViolationASectionFiveReceiverCanSeeFailsTheConnection) {
  std::string too_big;
  append_masked_frame(too_big, Opcode::Binary, std::string(1025, 'x'), 1);
  std::string too_big_in_pieces;
  append_masked_frame(too_big_in_pieces, Opcode::Text, std::string(600, 'x'), 1, false);
  append_masked_frame(too_big_in_pieces, Opcode::Continuation, std::string(600, 'x'), 1);
  std::string bad_text;
  append_masked_frame(bad_text, Opcode::Text, "\xed\xa0\x80", 7); // a surrogate
  std::string bad_text_in_pieces;
  append_masked_frame(bad_text_in_pieces, Opcode::Text, "\xc3", 7, false);
  append_masked_frame(bad_text_in_pieces, Opcode::Continuation, "x", 7);
  std::string long_ping;
  append_masked_frame(long_ping, Opcode::Ping, std::string(126, 'p'), 3);
  std::string bad_close_code;
  append_masked_frame(bad_close_code, Opcode::Close, bytes({0x03, 0xed}), 3); // 1005
  std::string bad_close_reason;
  append_masked_frame(bad_close_reason, Opcode::Close, bytes({0x03, 0xe8, 0xff}), 3);
  std::string nested;
  append_masked_frame(nested, Opcode::Text, "a", 3, false);
  append_masked_frame(nested, Opcode::Text, "b", 3);

  const std::vector<Broken> cases = {
      {"unmasked client frame", bytes({0x81, 0x01, 'x'}), close_code::kProtocolError},
      {"RSV1 without an extension", bytes({0xc1, 0x81, 0, 0, 0, 0, 'x'}),
       close_code::kProtocolError},
      {"reserved data opcode", bytes({0x83, 0x80, 0, 0, 0, 0}), close_code::kProtocolError},
      {"reserved control opcode", bytes({0x8b, 0x80, 0, 0, 0, 0}), close_code::kProtocolError},
      {"fragmented ping", bytes({0x09, 0x80, 0, 0, 0, 0}), close_code::kProtocolError},
      {"ping over 125 bytes", long_ping, close_code::kProtocolError},
      {"continuation with nothing to continue", bytes({0x80, 0x80, 0, 0, 0, 0}),
       close_code::kProtocolError},
      {"a new message inside a fragmented one", nested, close_code::kProtocolError},
      {"16-bit length under 126", bytes({0x82, 0xfe, 0x00, 0x05}), close_code::kProtocolError},
      {"64-bit length under 65536", bytes({0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x01, 0x00}),
       close_code::kProtocolError},
      {"64-bit length with the top bit", bytes({0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}),
       close_code::kProtocolError},
      {"one-byte close", bytes({0x88, 0x81, 0, 0, 0, 0, 0x03}), close_code::kProtocolError},
      {"close status 1005 on the wire", bad_close_code, close_code::kProtocolError},
      {"close reason not UTF-8", bad_close_reason, close_code::kInvalidPayload},
      {"text not UTF-8", bad_text, close_code::kInvalidPayload},
      {"text not UTF-8 across fragments", bad_text_in_pieces, close_code::kInvalidPayload},
      {"message over the limit", too_big, close_code::kMessageTooBig},
      {"fragments over the limit", too_big_in_pieces, close_code::kMessageTooBig},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (std::size_t step : {0u, 1u}) {
      const auto r = read_all(c.wire, {.max_message_bytes = 1024, .expect_masked = true}, step);
      ASSERT_TRUE(r.failure);
      EXPECT_EQ(r.failure->close_code, c.code) << r.failure->why;
      EXPECT_TRUE(r.messages.empty());
    }
  }
}

TEST(WsFrame, AMaskedServerFrameFailsAClient) {
  std::string wire;
  append_masked_frame(wire, Opcode::Text, "x", 9);
  const auto r = read_all(wire, kClient);
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->close_code, close_code::kProtocolError);
}

TEST(WsFrame, AnOversizedFrameIsRefusedFromItsHeaderBeforeItsPayloadArrives) {
  MessageReader reader({.max_message_bytes = 1000, .expect_masked = true});
  std::string header = bytes({0x82, 0xff, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}); // 2 GiB
  reader.feed(std::span<char>(header.data(), header.size()));
  const auto r = reader.next();
  ASSERT_TRUE(std::holds_alternative<ReadFailure>(r));
  EXPECT_EQ(std::get<ReadFailure>(r).close_code, close_code::kMessageTooBig);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  // Failed for good: more bytes change nothing.
  std::string more = "anything";
  reader.feed(std::span<char>(more.data(), more.size()));
  EXPECT_TRUE(std::holds_alternative<ReadFailure>(reader.next()));
}

TEST(WsFrame, AnIdleReaderHoldsNoBuffer) {
  MessageReader reader(kServer);
  std::string wire;
  append_masked_frame(wire, Opcode::Text, std::string(100000, 'a'), 5);
  std::string first = wire.substr(0, 50000), second = wire.substr(50000);
  reader.feed(std::span<char>(first.data(), first.size()));
  EXPECT_TRUE(std::holds_alternative<NeedMore>(reader.next()));
  EXPECT_EQ(reader.buffered_bytes(), 50000u); // the unfinished frame is carried over
  reader.feed(std::span<char>(second.data(), second.size()));
  auto r = reader.next();
  ASSERT_TRUE(std::holds_alternative<Received>(r));
  EXPECT_EQ(std::get<Received>(r).payload.size(), 100000u);
  EXPECT_TRUE(std::holds_alternative<NeedMore>(reader.next()));
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(WsFrame, MaskingAtAnyOffsetMatchesTheBytewiseDefinition) {
  std::string data(37, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7);
  const std::uint32_t mask = 0x9a3c51e7;
  const std::uint8_t key[4] = {0x9a, 0x3c, 0x51, 0xe7};
  for (std::size_t offset = 0; offset < 4; ++offset) {
    std::string masked = data;
    apply_mask(std::span<char>(masked.data(), masked.size()), mask, offset);
    for (std::size_t i = 0; i < data.size(); ++i)
      ASSERT_EQ(static_cast<std::uint8_t>(masked[i]),
                static_cast<std::uint8_t>(data[i]) ^ key[(offset + i) % 4])
          << offset << " " << i;
  }
}

} // namespace
} // namespace posthorn::net::ws
