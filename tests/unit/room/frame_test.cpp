#include "room/frame.hpp"

#include "core/crypto.hpp"
#include "room/chunk.hpp"
#include "room/errc.hpp"
#include "room_test_util.hpp"

#include <gtest/gtest.h>

namespace posthorn::room {
namespace {

using test::hex;

// TV3: roomToken = hex(SHA-256("Trystero:" + appId + ":" + roomId)).
std::string tv3_token() {
  return to_hex(crypto::sha256(as_bytes("Trystero:posthorn-test:lobby")));
}

TEST(RoomFrame, Tv3RoomTokenIsSha256HexOfAppAndRoom) {
  EXPECT_EQ(tv3_token(), "2f5fe6124447e09328757b2c839238121e21ae92e6f10904710984604d4de6f8");
}

TEST(RoomFrame, Tv12PresenceFramesAreExact) {
  const std::string t = tv3_token();
  const Bytes present = encode_presence_frame(t, true);
  ASSERT_EQ(present.size(), 68u);
  EXPECT_EQ(to_hex(present), "02010040" + to_hex(as_bytes(t)));
  EXPECT_EQ(to_hex(encode_presence_frame(t, false)), "02000040" + to_hex(as_bytes(t)));
}

TEST(RoomFrame, Tv12FramedHsReadyIsExact) {
  Bytes out;
  append_room_frame_header(out, tv3_token());
  MessagePlan plan("@_hsready", 0, PayloadKind::Text, 0, std::nullopt);
  plan.write_chunk(out, 0, {});
  EXPECT_EQ(out.size(), 103u);
  EXPECT_EQ(to_hex(out),
            "01004032663566653631323434343765303933323837353762326338333932333831323165323161"
            "653932653666313039303437313039383436303464346465366638405f6873726561647900000000"
            "00000000000000000000000000000000000000000001ff");
}

TEST(RoomFrame, Tv12FramedChatIsExact) {
  Bytes out;
  append_room_frame_header(out, tv3_token());
  const std::string body = R"({"msg":"hi"})";
  MessagePlan plan("chat", 0, PayloadKind::Json, body.size(), std::nullopt);
  plan.write_chunk(out, 0, as_bytes(body));
  EXPECT_EQ(out.size(), 115u);
  EXPECT_EQ(to_hex(out),
            "01004032663566653631323434343765303933323837353762326338333932333831323165323161"
            "65393265366631303930343731303938343630346434646536663863686174000000000000000000"
            "00000000000000000000000000000000000000000009ff7b226d7367223a226869227d");
}

TEST(RoomFrame, Tv12StreamMetadataIsAJsonChunk) {
  const std::string body = R"({"k":"K0123456789abcdefghi","s":"stream-id-1","m":{"label":"cam"}})";
  auto chunks = test::chunks_of("@_stream", 0, PayloadKind::Json, body);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0][34], 0x09);
  EXPECT_EQ(test::text_of(Bytes(chunks[0].begin() + 36, chunks[0].end())), body);
}

TEST(RoomFrame, DecodesRoomFrameAsViewsIntoTheInput) {
  Bytes msg;
  append_room_frame_header(msg, tv3_token());
  msg.insert(msg.end(), {1, 2, 3});
  auto decoded = decode_frame(msg);
  ASSERT_TRUE(decoded);
  const auto* room = std::get_if<RoomFrameView>(&*decoded);
  ASSERT_NE(room, nullptr);
  EXPECT_EQ(room->token, tv3_token());
  EXPECT_EQ(room->chunk.size(), 3u);
  EXPECT_EQ(room->chunk.data(), msg.data() + 67);
}

TEST(RoomFrame, DecodesPresenceFrames) {
  for (bool present : {true, false}) {
    const Bytes msg = encode_presence_frame("tok", present);
    auto decoded = decode_frame(msg);
    ASSERT_TRUE(decoded);
    const auto* p = std::get_if<PresenceFrameView>(&*decoded);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->token, "tok");
    EXPECT_EQ(p->present, present);
  }
}

TEST(RoomFrame, PresenceByteOtherThanOneMeansGoneAsInJs) {
  auto decoded = decode_frame(hex("0207000174"));
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(std::get<PresenceFrameView>(*decoded).present);
}

TEST(RoomFrame, RoomFrameMayCarryAnEmptyChunk) {
  auto decoded = decode_frame(hex("01000174"));
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(std::get<RoomFrameView>(*decoded).chunk.empty());
}

TEST(RoomFrame, DropRulesOfSection71AreErrors) {
  EXPECT_EQ(decode_frame(hex("")).error(), Errc::FrameTooShort);
  EXPECT_EQ(decode_frame(hex("0100")).error(), Errc::FrameTooShort);
  EXPECT_EQ(decode_frame(hex("030001")).error(), Errc::UnknownFrameType);
  EXPECT_EQ(decode_frame(hex("00000174")).error(), Errc::UnknownFrameType);
  EXPECT_EQ(decode_frame(hex("010000")).error(), Errc::EmptyToken);
  EXPECT_EQ(decode_frame(hex("01000274")).error(), Errc::TruncatedFrame);
  EXPECT_EQ(decode_frame(hex("020100")).error(), Errc::TruncatedFrame);
  EXPECT_EQ(decode_frame(hex("02010000")).error(), Errc::EmptyToken);
  EXPECT_EQ(decode_frame(hex("0201000274")).error(), Errc::TruncatedFrame);
}

TEST(RoomFrame, FrameErrorsAreProtocolViolations) {
  error_code ec = Errc::TruncatedFrame;
  EXPECT_EQ(ec, Condition::ProtocolViolation);
  EXPECT_STREQ(ec.category().name(), "posthorn.room");
  EXPECT_FALSE(ec.message().empty());
  error_code name = Errc::ActionNameTooLong;
  EXPECT_EQ(name, Condition::InvalidArgument);
}

} // namespace
} // namespace posthorn::room
