#include "ice/stun_message.hpp"

#include "ice/errc.hpp"

#include <gtest/gtest.h>

namespace posthorn::ice {
namespace {

Bytes hex(std::string_view h) {
  std::string clean;
  for (char c : h) {
    if (c != ' ' && c != '\n') clean.push_back(c);
  }
  return *from_hex(clean);
}

// RFC 5769 §2.1 sample request (short-term credentials, SOFTWARE padded with spaces).
const Bytes kRfc5769Request =
    hex("000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74"
        "002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020"
        "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf");
constexpr std::string_view kRfc5769Password = "VOkJxbRl1RmTxUk/WvJxBt";

TEST(StunMessage, DecodesRfc5769SampleRequest) {
  auto msg = StunMessage::decode(kRfc5769Request);
  ASSERT_TRUE(msg) << msg.error().message();
  EXPECT_TRUE(msg->is(StunClass::Request, StunMethod::Binding));
  EXPECT_EQ(msg->string(stun_attr::kUsername), "evtj:h6vY");
  EXPECT_EQ(msg->string(stun_attr::kSoftware), "STUN test client");
  EXPECT_EQ(msg->u32(stun_attr::kPriority), 0x6e0001ffu);
  EXPECT_EQ(msg->u64(stun_attr::kIceControlled), 0x932ff9b151263b36ULL);
  EXPECT_TRUE(msg->has_fingerprint());
  EXPECT_TRUE(msg->check_integrity(as_bytes(kRfc5769Password)));
  EXPECT_FALSE(msg->check_integrity(as_bytes("wrong password")));
}

TEST(StunMessage, DecodesRfc5769IPv4Response) {
  auto msg = StunMessage::decode(
      hex("0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220"
          "002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
          "80280004c07d4c96"));
  ASSERT_TRUE(msg) << msg.error().message();
  EXPECT_TRUE(msg->is(StunClass::SuccessResponse, StunMethod::Binding));
  EXPECT_EQ(msg->xor_address(stun_attr::kXorMappedAddress),
            SocketAddress::parse("192.0.2.1:32853"));
  EXPECT_TRUE(msg->check_integrity(as_bytes(kRfc5769Password)));
}

TEST(StunMessage, DecodesRfc5769IPv6Response) {
  auto msg = StunMessage::decode(
      hex("010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220"
          "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
          "00080014a382954e4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c"));
  ASSERT_TRUE(msg) << msg.error().message();
  EXPECT_EQ(msg->xor_address(stun_attr::kXorMappedAddress),
            SocketAddress::parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853"));
  EXPECT_TRUE(msg->check_integrity(as_bytes(kRfc5769Password)));
}

TEST(StunMessage, EncodeReproducesRfc5769RequestModuloPadding) {
  auto parsed = StunMessage::decode(kRfc5769Request);
  ASSERT_TRUE(parsed);
  StunMessage msg(StunClass::Request, StunMethod::Binding, parsed->transaction_id());
  msg.add_string(stun_attr::kSoftware, "STUN test client");
  msg.add_u32(stun_attr::kPriority, 0x6e0001ff);
  msg.add_u64(stun_attr::kIceControlled, 0x932ff9b151263b36ULL);
  msg.add_string(stun_attr::kUsername, "evtj:h6vY");
  Bytes out = msg.encode(as_bytes(kRfc5769Password), true);
  // The RFC pads USERNAME with spaces where we pad with zeros, so compare after decoding and
  // check our own integrity and fingerprint verify.
  ASSERT_EQ(out.size(), kRfc5769Request.size());
  auto again = StunMessage::decode(out);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE(again->check_integrity(as_bytes(kRfc5769Password)));
  EXPECT_EQ(again->string(stun_attr::kUsername), "evtj:h6vY");
  // Everything up to the USERNAME padding is byte-identical.
  EXPECT_TRUE(std::equal(out.begin(), out.begin() + 73, kRfc5769Request.begin()));
}

TEST(StunMessage, RoundTripsXorAddressesForBothFamilies) {
  TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  StunMessage msg(StunClass::SuccessResponse, StunMethod::Binding, id);
  msg.add_xor_address(stun_attr::kXorMappedAddress, *SocketAddress::parse("203.0.113.9:61000"));
  msg.add_xor_address(stun_attr::kXorPeerAddress, *SocketAddress::parse("[fe80::1234]:9"));
  auto back = StunMessage::decode(msg.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->xor_address(stun_attr::kXorMappedAddress)->to_string(), "203.0.113.9:61000");
  EXPECT_EQ(back->xor_address(stun_attr::kXorPeerAddress)->to_string(), "[fe80::1234]:9");
  EXPECT_EQ(back->transaction_id(), id);
}

TEST(StunMessage, ErrorCodeRoundTrips) {
  StunMessage msg(StunClass::ErrorResponse, StunMethod::Binding, TransactionId{});
  msg.add_error(487, "Role Conflict");
  auto back = StunMessage::decode(msg.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->cls(), StunClass::ErrorResponse);
  auto ec = back->error_code();
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec->code, 487);
  EXPECT_EQ(ec->reason, "Role Conflict");
}

TEST(StunMessage, TurnMethodsEncodeTheirClassBits) {
  // RFC 8656: ChannelBind success response type is 0x0109, Data indication 0x0017.
  auto bind = StunMessage(StunClass::SuccessResponse, StunMethod::ChannelBind, {}).encode();
  EXPECT_EQ(bind[0], 0x01);
  EXPECT_EQ(bind[1], 0x09);
  auto data = StunMessage(StunClass::Indication, StunMethod::Data, {}).encode();
  EXPECT_EQ(data[0], 0x00);
  EXPECT_EQ(data[1], 0x17);
  auto back = StunMessage::decode(data);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->is(StunClass::Indication, StunMethod::Data));
}

TEST(StunMessage, CorruptedFingerprintIsRejected) {
  Bytes bad = kRfc5769Request;
  bad.back() ^= 1;
  auto msg = StunMessage::decode(bad);
  ASSERT_FALSE(msg);
  EXPECT_EQ(msg.error(), Errc::BadFingerprint);
}

TEST(StunMessage, TamperedBodyFailsIntegrityButStillParses) {
  StunMessage msg(StunClass::Request, StunMethod::Binding, TransactionId{});
  msg.add_string(stun_attr::kUsername, "a:b");
  Bytes wire = msg.encode(as_bytes("key"), false);
  wire[kStunHeaderSize + 4] ^= 0x20; // flip a USERNAME character
  auto back = StunMessage::decode(wire);
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->check_integrity(as_bytes("key")));
}

TEST(StunMessage, AttributesAfterIntegrityAreIgnored) {
  StunMessage msg(StunClass::Request, StunMethod::Binding, TransactionId{});
  msg.add_string(stun_attr::kUsername, "a:b");
  Bytes wire = msg.encode(as_bytes("key"), false);
  // Append a PRIORITY after MESSAGE-INTEGRITY and fix the header length.
  ByteWriter w(wire);
  w.u16(stun_attr::kPriority);
  w.u16(4);
  w.u32(7);
  Bytes appended = std::move(w).take();
  appended[3] = static_cast<std::uint8_t>(appended.size() - kStunHeaderSize);
  auto back = StunMessage::decode(appended);
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->has(stun_attr::kPriority));
}

TEST(StunMessage, RejectsMalformedFraming) {
  EXPECT_FALSE(StunMessage::decode(Bytes{}));
  EXPECT_FALSE(StunMessage::decode(Bytes(19, 0)));
  Bytes truncated = kRfc5769Request;
  truncated.resize(truncated.size() - 4);
  EXPECT_FALSE(StunMessage::decode(truncated)) << "length field disagrees with datagram size";
  Bytes bad_cookie = kRfc5769Request;
  bad_cookie[4] = 0;
  EXPECT_FALSE(StunMessage::decode(bad_cookie));
  // An attribute whose length runs past the end.
  Bytes overrun = hex("000100082112a442000000000000000000000000"
                      "00060010"
                      "61626364");
  EXPECT_FALSE(StunMessage::decode(overrun));
}

TEST(StunMessage, ReportsUnknownComprehensionRequiredAttributes) {
  StunMessage msg(StunClass::Request, StunMethod::Binding, TransactionId{});
  msg.add_u32(0x7777, 1);
  msg.add_u32(0xC001, 1); // comprehension-optional: not reported
  auto back = StunMessage::decode(msg.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->unknown_required_attributes(), std::vector<std::uint16_t>{0x7777});
}

TEST(StunMessage, LooksLikeStunSeparatesDtlsAndRtp) {
  EXPECT_TRUE(looks_like_stun(kRfc5769Request));
  Bytes dtls{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_FALSE(looks_like_stun(dtls));
}

TEST(StunMessage, LongTermKeyIsMd5OfCredentials) {
  // MD5("user:realm:pass")
  EXPECT_EQ(to_hex(long_term_key("user", "realm", "pass")), "8493fbc53ba582fb4c044c456bdc40eb");
}

} // namespace
} // namespace posthorn::ice
