// TURN wire pieces: ChannelData framing, the TCP stream framer, TURN attributes, long-term
// credentials (RFC 5769 §2.4 vector) and error texts.
#include "ice/turn_codec.hpp"

#include "ice/turn_errc.hpp"

#include <gtest/gtest.h>

namespace posthorn::ice {
namespace {

Bytes hex(std::string_view h) {
  std::string clean;
  for (char c : h)
    if (c != ' ' && c != '\n') clean.push_back(c);
  return *from_hex(clean);
}

// RFC 5769 §2.4: request with long-term authentication (username "マトリックス", password
// "TheMatrIX" after SASLprep, realm "example.org").
const Bytes kRfc5769LongTermRequest =
    hex("000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b9"
        "00000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d"
        "706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666");
constexpr std::string_view kRfc5769User = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83"
                                          "\xe3\x82\xaf\xe3\x82\xb9";

TEST(TurnCodec, LongTermKeyVerifiesRfc5769Sample) {
  auto msg = StunMessage::decode(kRfc5769LongTermRequest);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->string(stun_attr::kUsername), kRfc5769User);
  EXPECT_EQ(msg->string(stun_attr::kRealm), "example.org");
  EXPECT_EQ(msg->string(stun_attr::kNonce), "f//499k954d6OL34oL9FSTvy64sA");
  EXPECT_TRUE(msg->check_integrity(long_term_key(kRfc5769User, "example.org", "TheMatrIX")));
  EXPECT_FALSE(msg->check_integrity(long_term_key(kRfc5769User, "example.org", "TheMatrix")));
}

TEST(TurnCodec, LongTermRequestEncodesRfc5769SampleByteForByte) {
  TransactionId id;
  std::copy_n(kRfc5769LongTermRequest.begin() + 8, 12, id.begin());
  StunMessage msg(StunClass::Request, StunMethod::Binding, id);
  // The same attribute order the client uses for authenticated requests' credentials.
  msg.add_string(stun_attr::kUsername, kRfc5769User);
  msg.add_string(stun_attr::kNonce, "f//499k954d6OL34oL9FSTvy64sA");
  msg.add_string(stun_attr::kRealm, "example.org");
  const Bytes key = long_term_key(kRfc5769User, "example.org", "TheMatrIX");
  EXPECT_EQ(to_hex(msg.encode(ByteView(key))), to_hex(kRfc5769LongTermRequest));
}

TEST(TurnCodec, ChannelDataRoundTripsWithoutPaddingOverUdp) {
  const Bytes payload = to_bytes("hello");
  Bytes wire = encode_channel_data(0x4001, payload, false);
  EXPECT_EQ(to_hex(wire), "40010005" + to_hex(payload));
  auto cd = decode_channel_data(wire);
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->channel, 0x4001);
  EXPECT_EQ(Bytes(cd->data.begin(), cd->data.end()), payload);
}

TEST(TurnCodec, ChannelDataIsPaddedToFourBytesForStreams) {
  Bytes wire = encode_channel_data(0x4FFF, to_bytes("hello"), true);
  EXPECT_EQ(wire.size(), 4u + 8u);
  EXPECT_EQ(to_hex(wire), "4fff000568656c6c6f000000");
  auto cd = decode_channel_data(wire); // padding is ignored by the decoder
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->data.size(), 5u);
}

TEST(TurnCodec, EmptyChannelDataIsValid) {
  auto cd = decode_channel_data(encode_channel_data(0x4000, {}, true));
  ASSERT_TRUE(cd);
  EXPECT_TRUE(cd->data.empty());
}

TEST(TurnCodec, ChannelDataRejectsEveryMalformedShape) {
  auto rejects = [](std::string_view h) {
    auto r = decode_channel_data(hex(h));
    return !r && r.error() == TurnErrc::MalformedChannelData &&
           r.error() == Condition::ProtocolViolation;
  };
  EXPECT_TRUE(rejects(""));                   // empty
  EXPECT_TRUE(rejects("4000"));               // header cut short
  EXPECT_TRUE(rejects("400000"));             // header cut short
  EXPECT_TRUE(rejects("3fff0000"));           // below the channel range
  EXPECT_TRUE(rejects("50000000"));           // reserved (RFC 8656 §12)
  EXPECT_TRUE(rejects("7fff0000"));           // reserved
  EXPECT_TRUE(rejects("40000005aabbcc"));     // length beyond the datagram
  EXPECT_TRUE(rejects("4000000100aabbccdd")); // more than 3 bytes after the data
  EXPECT_FALSE(rejects("4000000100aabbcc"));  // exactly 3 bytes of padding is fine
}

TEST(TurnCodec, LooksLikeChannelDataFollowsRfc7983) {
  EXPECT_TRUE(looks_like_channel_data(hex("40000000")));
  EXPECT_TRUE(looks_like_channel_data(hex("4f")));
  EXPECT_FALSE(looks_like_channel_data(hex("50"))); // not TURN per RFC 7983
  EXPECT_FALSE(looks_like_channel_data(hex("00")));
  EXPECT_FALSE(looks_like_channel_data({}));
}

TEST(TurnStreamFramer, SplitsStunAndChannelDataFedByteByByte) {
  TransactionId id{};
  StunMessage msg(StunClass::Indication, StunMethod::Data, id);
  msg.add(stun_attr::kData, as_bytes("abc"));
  const Bytes stun = msg.encode();
  const Bytes cd = encode_channel_data(0x4002, to_bytes("xyz"), true);
  Bytes stream = stun;
  stream.insert(stream.end(), cd.begin(), cd.end());
  stream.insert(stream.end(), stun.begin(), stun.end());

  TurnStreamFramer framer;
  std::vector<Bytes> frames;
  for (std::uint8_t b : stream) {
    framer.push(ByteView(&b, 1));
    for (;;) {
      auto f = framer.next();
      ASSERT_TRUE(f);
      if (!*f) break;
      frames.push_back(std::move(**f));
    }
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], stun);
  EXPECT_EQ(frames[1], cd);
  EXPECT_EQ(frames[2], stun);
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(TurnStreamFramer, WaitsForAPartialFrame) {
  TurnStreamFramer framer;
  framer.push(hex("4000000a0102"));
  auto f = framer.next();
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  EXPECT_EQ(framer.buffered(), 6u);
  framer.push(hex("030405060708090a0000"));
  f = framer.next();
  ASSERT_TRUE(f && *f);
  EXPECT_EQ((*f)->size(), 16u); // 4 + 10 + 2 padding
}

TEST(TurnStreamFramer, BytesThatAreNeitherStunNorChannelDataBreakTheStreamForGood) {
  TurnStreamFramer framer;
  framer.push(hex("80000000"));
  auto f = framer.next();
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error(), TurnErrc::StreamDesynchronized);
  framer.push(encode_channel_data(0x4000, to_bytes("ok"), true));
  EXPECT_FALSE(framer.next()); // stays broken: later bytes cannot be trusted
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(TurnCodec, TurnAttributesHaveTheirRfc8656Layout) {
  StunMessage msg(StunClass::Request, StunMethod::ChannelBind, TransactionId{});
  add_requested_transport(msg, kTurnTransportUdp);
  add_channel_number(msg, 0x4abc);
  add_requested_address_family(msg, IpFamily::V6);
  EXPECT_EQ(to_hex(msg.find(stun_attr::kRequestedTransport)->value), "11000000");
  EXPECT_EQ(to_hex(msg.find(stun_attr::kChannelNumber)->value), "4abc0000");
  EXPECT_EQ(to_hex(msg.find(turn_attr::kRequestedAddressFamily)->value), "02000000");
  EXPECT_EQ(channel_number(msg), 0x4abc);
  StunMessage bad(StunClass::Request, StunMethod::ChannelBind, TransactionId{});
  bad.add(stun_attr::kChannelNumber, hex("4abc"));
  EXPECT_EQ(channel_number(bad), std::nullopt);
}

TEST(TurnCodec, NonceCookieAnnouncesSecurityFeatures) {
  // "gAAA" is base64 of 0x80 0x00 0x00: bit 0 (password algorithms) set.
  auto f = parse_nonce_cookie("obMatJos2gAAAxyz");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->password_algorithms);
  EXPECT_FALSE(f->username_anonymity);
  f = parse_nonce_cookie("obMatJos2QAAAxyz"); // 0x40: username anonymity
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->password_algorithms);
  EXPECT_TRUE(f->username_anonymity);
  EXPECT_FALSE(parse_nonce_cookie("f//499k954d6OL34oL9FSTvy64sA"));
  EXPECT_FALSE(parse_nonce_cookie("obMatJos2"));     // no feature characters
  EXPECT_FALSE(parse_nonce_cookie("obMatJos2!!!!")); // not base64
}

TEST(TurnCodec, ErrorTextsNameTheCodeAndTheServerReason) {
  EXPECT_EQ(describe_stun_error({401, "Unauthorized"}), "401 Unauthorized");
  EXPECT_EQ(describe_stun_error({486, ""}), "486 Allocation Quota Reached");
  EXPECT_EQ(describe_stun_error({403, "peer\x01 blocked\n"}),
            "403 Forbidden (server says \"peer blocked\")");
  EXPECT_EQ(describe_stun_error({599, "x"}), "599 Error (server says \"x\")");
  EXPECT_EQ(printable_text(std::string(300, 'a'), 128).size(), 128u);
}

TEST(TurnCodec, AlternateServerIsAPlainAddress) {
  StunMessage msg(StunClass::ErrorResponse, StunMethod::Allocate, TransactionId{});
  msg.add(stun_attr::kAlternateServer, hex("00010d96c0000202")); // 192.0.2.2:3478
  EXPECT_EQ(alternate_server(msg), SocketAddress::parse("192.0.2.2:3478"));
  StunMessage bad(StunClass::ErrorResponse, StunMethod::Allocate, TransactionId{});
  bad.add(stun_attr::kAlternateServer, hex("00010d96c00002"));
  EXPECT_EQ(alternate_server(bad), std::nullopt);
}

TEST(TurnCodec, TurnAttributesAreNotUnknownButOthersAre) {
  StunMessage msg(StunClass::SuccessResponse, StunMethod::Allocate, TransactionId{});
  msg.add(turn_attr::kReservationToken, hex("0102030405060708"));
  msg.add(turn_attr::kIcmp, hex("00000000")); // optional range: never "unknown"
  EXPECT_TRUE(unknown_turn_attributes(msg).empty());
  msg.add(0x7777, hex("00000000"));
  EXPECT_EQ(unknown_turn_attributes(msg), std::vector<std::uint16_t>{0x7777});
}

TEST(TurnErrc, ErrorsClassifyIntoPublicConditions) {
  EXPECT_EQ(error_code(TurnErrc::Unauthorized), Condition::AuthFailed);
  EXPECT_EQ(error_code(TurnErrc::TimedOut), Condition::TimedOut);
  EXPECT_EQ(error_code(TurnErrc::Closed), Condition::Closed);
  EXPECT_EQ(error_code(TurnErrc::QuotaReached), Condition::Blocked);
  EXPECT_EQ(error_code(TurnErrc::PayloadTooLarge), Condition::InvalidArgument);
  EXPECT_EQ(error_code(TurnErrc::UnsupportedByServer), Condition::Unsupported);
  EXPECT_STREQ(error_code(TurnErrc::Unauthorized).category().name(), "posthorn.ice.turn");
  EXPECT_EQ(turn_errc_from_stun_code(437), TurnErrc::AllocationMismatch);
  EXPECT_EQ(turn_errc_from_stun_code(508), TurnErrc::QuotaReached);
  EXPECT_EQ(turn_errc_from_stun_code(500), TurnErrc::ServerError);
}

} // namespace
} // namespace posthorn::ice
