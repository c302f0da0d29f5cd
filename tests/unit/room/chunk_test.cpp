#include "room/chunk.hpp"

#include "room/errc.hpp"
#include "room_test_util.hpp"

#include <gtest/gtest.h>

namespace posthorn::room {
namespace {

using test::chunks_of;
using test::hex;
using test::trailer_hex;

const std::string kChatType = "63686174" + std::string(56, '0');

Bytes counting_bytes(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i)
    b[i] = static_cast<std::uint8_t>(i & 255);
  return b;
}

// TV11: thirteen sends of action "chat", nonces 0..12 from one counter (§8.4).
class Tv11 : public ::testing::Test {
protected:
  std::vector<Bytes> send(PayloadKind kind, ByteView payload,
                          std::optional<std::string> meta = std::nullopt) {
    auto chunks = chunks_of("chat", nonces.next(), kind, payload, std::move(meta));
    for (const auto& c : chunks)
      EXPECT_EQ(to_hex(ByteView(c).first(32)), kChatType);
    return chunks;
  }
  std::vector<Bytes> send(PayloadKind kind, std::string_view payload,
                          std::optional<std::string> meta = std::nullopt) {
    return send(kind, as_bytes(payload), std::move(meta));
  }
  static std::string body_hex(const Bytes& chunk) {
    return to_hex(ByteView(chunk).subspan(kChunkHeaderSize));
  }
  NonceCounter nonces;
};

TEST_F(Tv11, AllThirteenRows) {
  auto c = send(PayloadKind::Json, R"({"msg":"hi"})");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(trailer_hex(c[0]), "000009ff");
  EXPECT_EQ(c[0].size(), 48u);
  EXPECT_EQ(body_hex(c[0]), "7b226d7367223a226869227d");

  c = send(PayloadKind::Json, R"({"msg":"hi"})");
  EXPECT_EQ(trailer_hex(c[0]), "000109ff");
  EXPECT_EQ(c[0].size(), 48u);
  EXPECT_EQ(body_hex(c[0]), "7b226d7367223a226869227d");

  c = send(PayloadKind::Text, "hello");
  EXPECT_EQ(trailer_hex(c[0]), "000201ff");
  EXPECT_EQ(c[0].size(), 41u);
  EXPECT_EQ(body_hex(c[0]), "68656c6c6f");

  c = send(PayloadKind::Binary, ByteView(hex("010203")));
  EXPECT_EQ(trailer_hex(c[0]), "00030dff");
  EXPECT_EQ(c[0].size(), 39u);
  EXPECT_EQ(body_hex(c[0]), "010203");

  c = send(PayloadKind::Json, "42");
  EXPECT_EQ(trailer_hex(c[0]), "000409ff");
  EXPECT_EQ(c[0].size(), 38u);
  EXPECT_EQ(body_hex(c[0]), "3432");

  c = send(PayloadKind::Json, "null");
  EXPECT_EQ(trailer_hex(c[0]), "000509ff");
  EXPECT_EQ(c[0].size(), 40u);
  EXPECT_EQ(body_hex(c[0]), "6e756c6c");

  c = send(PayloadKind::Text, "x", R"({"a":1})");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(trailer_hex(c[0]), "00060280");
  EXPECT_EQ(trailer_hex(c[1]), "000601ff");
  EXPECT_EQ(c[0].size(), 43u);
  EXPECT_EQ(c[1].size(), 37u);
  EXPECT_EQ(body_hex(c[0]), "7b2261223a317d");
  EXPECT_EQ(body_hex(c[1]), "78");

  c = send(PayloadKind::Text, "", R"({"a":1})");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(trailer_hex(c[0]), "000703ff");
  EXPECT_EQ(c[0].size(), 43u);
  EXPECT_EQ(body_hex(c[0]), "7b2261223a317d");

  const Bytes big = counting_bytes(40000);
  c = send(PayloadKind::Binary, ByteView(big));
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(trailer_hex(c[0]), "00080c55");
  EXPECT_EQ(trailer_hex(c[1]), "00080caa");
  EXPECT_EQ(trailer_hex(c[2]), "00080dff");
  EXPECT_EQ(c[0].size(), 16384u);
  EXPECT_EQ(c[1].size(), 16384u);
  EXPECT_EQ(c[2].size(), 7340u);
  EXPECT_EQ(c[2][36], 0xb8);
  EXPECT_EQ(c[2][37], 0xb9);

  c = send(PayloadKind::Binary, ByteView(big), R"({"name":"f"})");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(trailer_hex(c[0]), "00090e40");
  EXPECT_EQ(trailer_hex(c[1]), "00090c80");
  EXPECT_EQ(trailer_hex(c[2]), "00090cbf");
  EXPECT_EQ(trailer_hex(c[3]), "00090dff");
  EXPECT_EQ(c[0].size(), 48u);
  EXPECT_EQ(c[1].size(), 16384u);
  EXPECT_EQ(c[2].size(), 16384u);
  EXPECT_EQ(c[3].size(), 7340u);

  const Bytes zeros(16348, 0);
  c = send(PayloadKind::Binary, ByteView(zeros));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(trailer_hex(c[0]), "000a0dff");
  EXPECT_EQ(c[0].size(), 16384u);

  c = send(PayloadKind::Binary, ByteView());
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(trailer_hex(c[0]), "000b0dff");
  EXPECT_EQ(c[0].size(), 36u);

  c = send(PayloadKind::Text, "h\xc3\xa9llo \xe2\x98\x83");
  EXPECT_EQ(trailer_hex(c[0]), "000c01ff");
  EXPECT_EQ(c[0].size(), 46u);
  EXPECT_EQ(body_hex(c[0]), "68c3a96c6c6f20e29883");
}

TEST(ActionChunk, Tv11FullHeaderForNonceOneJson) {
  Bytes out;
  encode_chunk_header(out, {"chat", 1, true, false, PayloadKind::Json, 0xff});
  EXPECT_EQ(to_hex(out), kChatType + "000109ff");
}

TEST(ActionChunk, Tv11NonceWrapsFrom65535ToZero) {
  NonceCounter nonces;
  for (int i = 0; i < 65535; ++i)
    (void)nonces.next();
  EXPECT_EQ(trailer_hex(chunks_of("chat", nonces.next(), PayloadKind::Json, "1")[0]), "ffff09ff");
  EXPECT_EQ(trailer_hex(chunks_of("chat", nonces.next(), PayloadKind::Json, "1")[0]), "000009ff");
  EXPECT_EQ(nonces.peek(), 1);
}

TEST(ActionChunk, Tv11InternalActionHeaders) {
  const auto ready = chunks_of("@_hsready", 0, PayloadKind::Text, "");
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(to_hex(ready[0]), "405f6873726561647900" + std::string(44, '0') + "000001ff");
  const auto ping = chunks_of("@_ping", 0, PayloadKind::Text, "");
  EXPECT_EQ(to_hex(ping[0]), "405f70696e67" + std::string(52, '0') + "000001ff");
}

TEST(ActionChunk, ProgressByteMatchesJsMathRound) {
  EXPECT_EQ(progress_byte(0, 1), 0xff);
  EXPECT_EQ(progress_byte(0, 2), 0x80); // 127.5 rounds up, as Math.round
  EXPECT_EQ(progress_byte(0, 3), 0x55);
  EXPECT_EQ(progress_byte(1, 3), 0xaa);
  EXPECT_EQ(progress_byte(0, 4), 0x40);
  EXPECT_EQ(progress_byte(1, 4), 0x80);
  EXPECT_EQ(progress_byte(2, 4), 0xbf);
  EXPECT_EQ(progress_byte(3, 4), 0xff);
  EXPECT_EQ(progress_byte(0, 510), 1); // 0.5 rounds up
  EXPECT_EQ(progress_byte(0, 1000), 0);
  for (std::size_t total = 1; total < 600; ++total)
    EXPECT_EQ(progress_byte(total - 1, total), 0xff);
}

TEST(ActionChunk, DecodeStripsEveryNulFromTheType) {
  Bytes chunk = hex("6300680061007400" + std::string(48, '0') + "1234" + "0d" + "7f");
  chunk.push_back(0xaa);
  auto decoded = decode_chunk(chunk);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->header.type, "chat");
  EXPECT_EQ(decoded->header.nonce, 0x1234);
  EXPECT_TRUE(decoded->header.last);
  EXPECT_FALSE(decoded->header.metadata);
  EXPECT_EQ(decoded->header.kind, PayloadKind::Binary);
  EXPECT_EQ(decoded->header.progress, 0x7f);
  ASSERT_EQ(decoded->payload.size(), 1u);
  EXPECT_EQ(decoded->payload[0], 0xaa);
}

TEST(ActionChunk, DecodeTypeAsTextDecoderDoes) {
  // An invalid byte becomes U+FFFD; a NUL inside a broken sequence ends it first (decode, then
  // strip NULs, exactly as JS).
  Bytes chunk = hex("61c300a9" + std::string(56, '0') + "00000100");
  auto decoded = decode_chunk_header(chunk);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->type, "a\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(ActionChunk, Bit2IsTestedBeforeBit3) {
  EXPECT_EQ(kind_from_tag(0x04), PayloadKind::Binary);
  EXPECT_EQ(kind_from_tag(0x0c), PayloadKind::Binary);
  EXPECT_EQ(kind_from_tag(0x08), PayloadKind::Json);
  EXPECT_EQ(kind_from_tag(0x01), PayloadKind::Text);
  EXPECT_EQ(kind_from_tag(0xf0), PayloadKind::Text);
  EXPECT_EQ(kind_tag_bits(PayloadKind::Binary), 0x0c);
}

TEST(ActionChunk, ShortChunkIsAnError) {
  EXPECT_EQ(decode_chunk(Bytes(35, 0)).error(), Errc::TruncatedChunk);
  EXPECT_TRUE(decode_chunk(Bytes(36, 0)));
}

TEST(ActionChunk, HeaderRoundTrips) {
  const ChunkHeader h{"\xe2\x98\x83snow", 65535, false, true, PayloadKind::Json, 0x40};
  Bytes out;
  encode_chunk_header(out, h);
  ASSERT_EQ(out.size(), kChunkHeaderSize);
  EXPECT_EQ(*decode_chunk_header(out), h);
}

TEST(MessagePlanTest, RangesCoverThePayloadWithoutHoldingIt) {
  const std::uint64_t size = 3ull * kChunkPayloadSize + 5;
  MessagePlan plan("file", 7, PayloadKind::Binary, size, std::string(R"({"name":"a.bin"})"));
  ASSERT_EQ(plan.chunk_count(), 5u);
  EXPECT_TRUE(plan.chunk_range(0).metadata);
  EXPECT_EQ(plan.chunk_range(0).length, 16u);
  std::uint64_t expected = 0;
  for (std::size_t i = 1; i < plan.chunk_count(); ++i) {
    const auto r = plan.chunk_range(i);
    EXPECT_FALSE(r.metadata);
    EXPECT_EQ(r.offset, expected);
    expected += r.length;
    EXPECT_EQ(plan.wire_size(i), kChunkHeaderSize + r.length);
    EXPECT_EQ(plan.header(i).last, i + 1 == plan.chunk_count());
    EXPECT_FALSE(plan.header(i).metadata);
    EXPECT_EQ(plan.header(i).kind, PayloadKind::Binary);
  }
  EXPECT_EQ(expected, size);
  EXPECT_EQ(plan.chunk_range(4).length, 5u);
}

TEST(MessagePlanTest, PlansMultiGigabytePayloads) {
  const std::uint64_t size = 5ull << 30;
  MessagePlan plan("file", 0, PayloadKind::Binary, size, std::nullopt);
  EXPECT_EQ(plan.chunk_count(), (size + kChunkPayloadSize - 1) / kChunkPayloadSize);
  const auto last = plan.chunk_range(plan.chunk_count() - 1);
  EXPECT_EQ(last.offset + last.length, size);
  EXPECT_EQ(plan.header(plan.chunk_count() - 1).progress, 0xff);
}

TEST(MessagePlanTest, WriteChunkAppendsAfterExistingBytes) {
  MessagePlan plan("chat", 3, PayloadKind::Text, 2, std::nullopt);
  Bytes out = {0xaa, 0xbb};
  plan.write_chunk(out, 0, as_bytes("hi"));
  ASSERT_EQ(out.size(), 2 + kChunkHeaderSize + 2);
  EXPECT_EQ(out[0], 0xaa);
  EXPECT_EQ(out[2], 'c');
  EXPECT_EQ(out[2 + 36], 'h');
}

TEST(ActionName, ValidNames) {
  EXPECT_TRUE(validate_action_name("chat", false));
  EXPECT_TRUE(validate_action_name(std::string(32, 'x'), false));
  EXPECT_TRUE(validate_action_name("\xe2\x98\x83", false));
  EXPECT_TRUE(validate_action_name("@_hsready", true));
  EXPECT_TRUE(validate_action_name("a@_", false));
}

TEST(ActionName, InvalidNamesSayWhy) {
  EXPECT_EQ(validate_action_name("", false).error(), Errc::ActionNameEmpty);
  EXPECT_EQ(validate_action_name(std::string(33, 'x'), false).error(), Errc::ActionNameTooLong);
  // 11 snowmen are 33 bytes: the limit counts UTF-8 bytes, not characters.
  std::string snowmen;
  for (int i = 0; i < 11; ++i)
    snowmen += "\xe2\x98\x83";
  EXPECT_EQ(validate_action_name(snowmen, false).error(), Errc::ActionNameTooLong);
  EXPECT_EQ(validate_action_name("@_ping", false).error(), Errc::ActionNameReserved);
  EXPECT_EQ(validate_action_name("a\xff", false).error(), Errc::ActionNameInvalidUtf8);
  EXPECT_EQ(validate_action_name(std::string("a\0b", 3), false).error(), Errc::ActionNameHasNul);
  EXPECT_EQ(validate_action_name("@_ping", false).error(), Condition::InvalidArgument);
}

TEST(ActionName, ErrorMessagesAreActionable) {
  const std::string long_name(40, 'n');
  const auto ec = validate_action_name(long_name, false).error();
  const std::string message = action_name_error_message(long_name, ec);
  EXPECT_NE(message.find("is 40 bytes"), std::string::npos) << message;
  EXPECT_NE(message.find("limit is 32"), std::string::npos) << message;
  EXPECT_NE(message.find("choose a shorter name"), std::string::npos) << message;
  const auto reserved = action_name_error_message("@_x", Errc::ActionNameReserved);
  EXPECT_NE(reserved.find("\"@_x\""), std::string::npos) << reserved;
  EXPECT_NE(action_name_error_message("", Errc::ActionNameEmpty).find("required"),
            std::string::npos);
}

} // namespace
} // namespace posthorn::room
