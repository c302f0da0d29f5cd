// MQTT 3.1.1 codec: byte vectors from the OASIS standard's examples, every malformed edge of the
// decoder, and splitting/coalescing of the stream.
#include "signal/mqtt_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace posthorn::signal::mqtt {
namespace {

Bytes hex(std::string_view h) {
  std::string clean;
  for (char c : h)
    if (c != ' ') clean.push_back(c);
  return *from_hex(clean);
}

/// Feeds `data` and returns every packet until the decoder needs more input; fails the test on
/// a decoder error.
std::vector<Packet> decode_all(Decoder& d, ByteView data) {
  d.feed(data);
  std::vector<Packet> out;
  for (;;) {
    auto p = d.poll();
    EXPECT_TRUE(p) << p.error().message();
    if (!p || !*p) return out;
    out.push_back(std::move(**p));
  }
}

error_code decode_error(ByteView data, DecoderOptions options = {}) {
  Decoder d(options);
  d.feed(data);
  for (int i = 0; i < 100; ++i) {
    auto p = d.poll();
    if (!p) return p.error();
    if (!*p) return {};
  }
  return {};
}

// ---- Remaining length (§2.2.3 Table 2.4) ----

struct LengthCase {
  std::size_t value;
  const char* encoded;
};

TEST(MqttCodec, RemainingLengthMatchesTable2_4) {
  // The table's boundaries, checked through a PUBLISH whose body is exactly `value` bytes.
  for (auto c : {LengthCase{0x7F, "7f"}, LengthCase{128, "8001"}, LengthCase{16383, "ff7f"},
                 LengthCase{16384, "808001"}, LengthCase{2097151, "ffff7f"},
                 LengthCase{2097152, "80808001"}}) {
    const std::size_t payload = c.value - 3; // topic "t": 2-byte length + 1 byte
    auto packet = encode_publish("t", Bytes(payload, 0x55));
    ASSERT_TRUE(packet);
    const Bytes expected_len = hex(c.encoded);
    ASSERT_GE(packet->size(), 1 + expected_len.size());
    EXPECT_EQ(
        Bytes(packet->begin() + 1, packet->begin() + 1 + static_cast<long>(expected_len.size())),
        expected_len)
        << c.value;
    EXPECT_EQ(packet->size(), 1 + expected_len.size() + c.value);
  }
}

TEST(MqttCodec, DecodesTheLargestFourByteRemainingLengthHeader) {
  // 268 435 455 = ff ff ff 7f is legal but far over any max: PacketTooLarge, not malformed.
  EXPECT_EQ(decode_error(hex("30 ff ff ff 7f")), Errc::PacketTooLarge);
}

TEST(MqttCodec, RejectsAFifthRemainingLengthByte) {
  EXPECT_EQ(decode_error(hex("30 ff ff ff ff 01")), Errc::MalformedRemainingLength);
  // Detected as soon as the fourth byte says "more follows", without waiting for a fifth.
  EXPECT_EQ(decode_error(hex("30 80 80 80 80")), Errc::MalformedRemainingLength);
}

// ---- Encoders, against the standard's figures ----

TEST(MqttCodec, ConnectMatchesFigure3_6VariableHeaderAndFlags) {
  // Figure 3.6 example: protocol name "MQTT", level 4, keepalive 10; we never set a will, so the
  // flags are user name (0x80) + password (0x40) + clean session (0x02) = 0xC2.
  auto packet =
      encode_connect({.client_id = "c", .keepalive_seconds = 10, .username = "u", .password = "p"});
  ASSERT_TRUE(packet);
  EXPECT_EQ(*packet, hex("10 13"                         // CONNECT, remaining length 19
                         "00 04 4d 51 54 54"             // "MQTT"
                         "04 c2 00 0a"                   // level 4, flags, keepalive 10
                         "00 01 63 00 01 75 00 01 70")); // client id, user name, password
}

TEST(MqttCodec, ConnectLikeMqttJsDefaults) {
  auto packet = encode_connect({.client_id = "mqttjs_0123abcd"});
  ASSERT_TRUE(packet);
  // Clean session only, keepalive 60 s, no credentials.
  Bytes expected = hex("10 1b 00 04 4d 51 54 54 04 02 00 3c 00 0f");
  for (char c : std::string("mqttjs_0123abcd"))
    expected.push_back(static_cast<std::uint8_t>(c));
  EXPECT_EQ(*packet, expected);
}

TEST(MqttCodec, ConnectRejectsPasswordWithoutUserName) {
  auto packet = encode_connect({.client_id = "c", .password = "p"});
  ASSERT_FALSE(packet);
  EXPECT_EQ(packet.error(), Errc::PasswordWithoutUsername);
  EXPECT_EQ(packet.error(), Condition::InvalidArgument);
}

TEST(MqttCodec, ConnectRejectsNulInClientId) {
  auto packet = encode_connect({.client_id = std::string("a\0b", 3)});
  ASSERT_FALSE(packet);
  EXPECT_EQ(packet.error(), Errc::InvalidUtf8);
}

TEST(MqttCodec, StringEncodingMatchesFigure1_1) {
  // Figure 1.1: "A\u{2A6D4}" is 00 05 41 f0 aa 9b 94; as a PUBLISH topic it is framed verbatim.
  auto packet = encode_publish("A\xF0\xAA\x9B\x94", {});
  ASSERT_TRUE(packet);
  EXPECT_EQ(*packet, hex("30 07 00 05 41 f0 aa 9b 94"));
}

TEST(MqttCodec, PublishMatchesFigure3_11TopicLayout) {
  // Figure 3.11 (topic "a/b"); QoS 0 carries no packet identifier (§3.3.2.2).
  auto packet = encode_publish("a/b", as_bytes("hi"));
  ASSERT_TRUE(packet);
  EXPECT_EQ(*packet, hex("30 07 00 03 61 2f 62 68 69"));
}

TEST(MqttCodec, PublishRejectsWildcardsAndEmptyTopics) {
  EXPECT_EQ(encode_publish("a/+", {}).error(), Errc::InvalidTopic);
  EXPECT_EQ(encode_publish("#", {}).error(), Errc::InvalidTopic);
  EXPECT_EQ(encode_publish("", {}).error(), Errc::InvalidTopic);
  EXPECT_EQ(encode_publish("\xC0\x80", {}).error(), Errc::InvalidTopic); // overlong NUL
  EXPECT_EQ(encode_publish(std::string(65536, 'a'), {}).error(), Errc::StringTooLong);
}

TEST(MqttCodec, SubscribeMatchesFigure3_22PayloadAtQos0) {
  // Figure 3.22 subscribes "a/b" and "c/d"; we always request QoS 0. Fixed flags 0b0010 (§3.8.1).
  const std::vector<std::string> topics{"a/b", "c/d"};
  auto packet = encode_subscribe(10, topics);
  ASSERT_TRUE(packet);
  EXPECT_EQ(*packet, hex("82 0e 00 0a 00 03 61 2f 62 00 00 03 63 2f 64 00"));
}

TEST(MqttCodec, UnsubscribeMatchesFigure3_30) {
  const std::vector<std::string> topics{"a/b", "c/d"};
  auto packet = encode_unsubscribe(10, topics);
  ASSERT_TRUE(packet);
  EXPECT_EQ(*packet, hex("a2 0c 00 0a 00 03 61 2f 62 00 03 63 2f 64"));
}

TEST(MqttCodec, SubscribeNeedsANonZeroIdAndATopic) {
  const std::vector<std::string> one{"a"};
  EXPECT_EQ(encode_subscribe(0, one).error(), Errc::PacketIdZero);
  EXPECT_EQ(encode_subscribe(1, {}).error(), Errc::EmptyTopicList);
  EXPECT_EQ(encode_unsubscribe(0, one).error(), Errc::PacketIdZero);
  const std::vector<std::string> empty_topic{""};
  EXPECT_EQ(encode_subscribe(1, empty_topic).error(), Errc::InvalidTopic);
}

TEST(MqttCodec, FixedTwoBytePackets) {
  EXPECT_EQ(encode_pingreq(), hex("c0 00"));
  EXPECT_EQ(encode_disconnect(), hex("e0 00"));
  EXPECT_EQ(encode_puback(0x1234), hex("40 02 12 34"));
}

// ---- Decoder ----

TEST(MqttCodec, DecodesConnAck) {
  Decoder d;
  auto packets = decode_all(d, hex("20 02 00 00 20 02 01 05"));
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(std::get<ConnAck>(packets[0]), (ConnAck{.session_present = false, .return_code = 0}));
  EXPECT_EQ(std::get<ConnAck>(packets[1]), (ConnAck{.session_present = true, .return_code = 5}));
  EXPECT_EQ(describe_connect_return_code(5), "not authorized");
  EXPECT_EQ(describe_connect_return_code(9), "reserved return code 9");
}

TEST(MqttCodec, DecodesSubAckFromFigure3_26) {
  // Figure 3.26: "Success - Maximum QoS 0", "Success - Maximum QoS 2", "Failure".
  Decoder d;
  auto packets = decode_all(d, hex("90 05 00 0a 00 02 80"));
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(std::get<SubAck>(packets[0]), (SubAck{.packet_id = 10, .return_codes = {0, 2, 0x80}}));
}

TEST(MqttCodec, DecodesUnsubAckAndPingResp) {
  Decoder d;
  auto packets = decode_all(d, hex("b0 02 00 0a d0 00"));
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(std::get<UnsubAck>(packets[0]).packet_id, 10);
  EXPECT_TRUE(std::holds_alternative<PingResp>(packets[1]));
}

TEST(MqttCodec, DecodesPublishAtEachQos) {
  Decoder d;
  auto packets = decode_all(d, hex("30 07 00 03 61 2f 62 68 69"       // QoS 0
                                   "3b 09 00 03 61 2f 62 00 0a 68 69" // QoS 1, dup, retain
                                   "34 05 00 01 74 00 07"));          // QoS 2, empty payload
  ASSERT_EQ(packets.size(), 3u);
  EXPECT_EQ(std::get<Publish>(packets[0]),
            (Publish{.topic = "a/b", .payload = to_bytes("hi"), .qos = 0}));
  EXPECT_EQ(std::get<Publish>(packets[1]), (Publish{.topic = "a/b",
                                                    .payload = to_bytes("hi"),
                                                    .qos = 1,
                                                    .retain = true,
                                                    .dup = true,
                                                    .packet_id = 10}));
  EXPECT_EQ(std::get<Publish>(packets[2]),
            (Publish{.topic = "t", .payload = {}, .qos = 2, .packet_id = 7}));
}

TEST(MqttCodec, HandlesEverySplitOfACoalescedStream) {
  const Bytes stream = hex("20 02 00 00 90 03 00 01 00 30 07 00 03 61 2f 62 68 69 d0 00");
  Decoder whole;
  const auto expected = decode_all(whole, stream);
  ASSERT_EQ(expected.size(), 4u);
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    Decoder d;
    std::vector<Packet> got;
    for (std::size_t i = 0; i < stream.size(); i += chunk) {
      auto part = ByteView(stream).subspan(i, std::min(chunk, stream.size() - i));
      auto more = decode_all(d, part);
      got.insert(got.end(), more.begin(), more.end());
    }
    EXPECT_EQ(got, expected) << "chunk size " << chunk;
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(MqttCodec, WaitsForTheWholeBody) {
  Decoder d;
  d.feed(hex("30 07 00 03 61"));
  auto p = d.poll();
  ASSERT_TRUE(p);
  EXPECT_FALSE(*p);
  EXPECT_EQ(d.buffered(), 5u);
}

TEST(MqttCodec, RejectsPacketsAServerNeverSends) {
  for (const char* h : {"10 00", "40 02 00 01", "50 02 00 01", "62 02 00 01", "70 02 00 01",
                        "82 00", "a2 00", "c0 00", "e0 00", "00 00", "f0 00"})
    EXPECT_EQ(decode_error(hex(h)), Errc::UnexpectedPacketType) << h;
}

TEST(MqttCodec, RejectsReservedFlagBits) {
  EXPECT_EQ(decode_error(hex("21 02 00 00")), Errc::BadFixedHeaderFlags);
  EXPECT_EQ(decode_error(hex("92 03 00 01 00")), Errc::BadFixedHeaderFlags);
  EXPECT_EQ(decode_error(hex("d8 00")), Errc::BadFixedHeaderFlags);
  EXPECT_EQ(decode_error(hex("36 05 00 01 74 00 01")), Errc::UnsupportedQos); // QoS 3
}

TEST(MqttCodec, RejectsMalformedBodies) {
  EXPECT_EQ(decode_error(hex("20 03 00 00 00")), Errc::MalformedPacket); // CONNACK too long
  EXPECT_EQ(decode_error(hex("20 02 02 00")), Errc::MalformedPacket);    // reserved ack bits
  EXPECT_EQ(decode_error(hex("90 02 00 01")), Errc::MalformedPacket);    // SUBACK without codes
  EXPECT_EQ(decode_error(hex("90 03 00 01 03")), Errc::MalformedPacket); // reserved code 3
  EXPECT_EQ(decode_error(hex("b0 03 00 01 00")), Errc::MalformedPacket); // UNSUBACK too long
  EXPECT_EQ(decode_error(hex("d0 01 00")), Errc::MalformedPacket);       // PINGRESP with body
  EXPECT_EQ(decode_error(hex("30 02 00 05")), Errc::MalformedPacket);    // topic past the end
  EXPECT_EQ(decode_error(hex("30 02 00 00")), Errc::MalformedPacket);    // empty topic
  EXPECT_EQ(decode_error(hex("30 03 00 01 23")), Errc::MalformedPacket); // '#' in a topic name
  EXPECT_EQ(decode_error(hex("32 03 00 01 74")), Errc::MalformedPacket); // QoS 1 without id
  EXPECT_EQ(decode_error(hex("32 05 00 01 74 00 00")), Errc::MalformedPacket); // id 0
  EXPECT_EQ(decode_error(hex("30 03 00 01 00")), Errc::InvalidUtf8);           // U+0000
  EXPECT_EQ(decode_error(hex("30 05 00 03 ed a0 80")), Errc::InvalidUtf8);     // a surrogate
}

TEST(MqttCodec, EnforcesTheMaxPacketSizeBeforeTheBodyArrives) {
  Decoder d({.max_packet_size = 64});
  d.feed(hex("30 c0 00")); // announces a 64-byte body: 67 bytes in all
  auto p = d.poll();
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error(), Errc::PacketTooLarge);
  EXPECT_EQ(p.error(), Condition::ProtocolViolation);
  EXPECT_TRUE(d.failed());
  // Failed for good: more input is ignored and the same error comes back.
  d.feed(Bytes(1000, 0));
  EXPECT_EQ(d.buffered(), 0u);
  EXPECT_EQ(d.poll().error(), Errc::PacketTooLarge);
}

TEST(MqttCodec, AcceptsAPacketOfExactlyTheMaxSize) {
  auto packet = encode_publish("t", Bytes(59, 1)); // 2 + 3 + 59 = 64 bytes
  ASSERT_TRUE(packet);
  ASSERT_EQ(packet->size(), 64u);
  Decoder d({.max_packet_size = 64});
  EXPECT_EQ(decode_all(d, *packet).size(), 1u);
}

TEST(MqttCodec, SkipsAnOversizedPublishWithoutBufferingIt) {
  Decoder d({.max_packet_size = 64, .skip_oversized_publish = true});
  auto big = encode_publish("t", Bytes(10'000, 7));
  auto small = encode_publish("t", to_bytes("ok"));
  ASSERT_TRUE(big && small);
  std::vector<Packet> got;
  for (std::size_t i = 0; i < big->size(); i += 100) {
    auto more =
        decode_all(d, ByteView(*big).subspan(i, std::min<std::size_t>(100, big->size() - i)));
    got.insert(got.end(), more.begin(), more.end());
    EXPECT_LE(d.buffered(), 100u);
  }
  auto more = decode_all(d, *small);
  got.insert(got.end(), more.begin(), more.end());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(std::get<SkippedPublish>(got[0]).packet_size, big->size());
  EXPECT_EQ(std::get<Publish>(got[1]).payload, to_bytes("ok"));
}

TEST(MqttCodec, SkipModeStillFailsOtherOversizedPackets) {
  EXPECT_EQ(decode_error(hex("90 c0 00"), {.max_packet_size = 64, .skip_oversized_publish = true}),
            Errc::PacketTooLarge);
}

TEST(MqttCodec, ServerPacketsRoundTrip) {
  const std::vector<Packet> packets{
      ConnAck{.session_present = true, .return_code = 0},
      SubAck{.packet_id = 65535, .return_codes = {0, 1, 2, 0x80}},
      UnsubAck{.packet_id = 1},
      Publish{.topic = "x/y", .payload = Bytes(300, 9), .qos = 1, .packet_id = 3},
      PingResp{},
  };
  for (const auto& packet : packets) {
    auto bytes = encode(packet);
    ASSERT_TRUE(bytes);
    Decoder d;
    auto decoded = decode_all(d, *bytes);
    ASSERT_EQ(decoded.size(), 1u);
    EXPECT_EQ(decoded[0], packet);
  }
  EXPECT_FALSE(encode(SkippedPublish{.packet_size = 5}));
}

TEST(MqttCodec, Utf8Validation) {
  EXPECT_TRUE(is_valid_mqtt_string(""));
  EXPECT_TRUE(is_valid_mqtt_string("plain"));
  EXPECT_TRUE(is_valid_mqtt_string("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80")); // é € 😀
  EXPECT_FALSE(is_valid_mqtt_string(std::string("\0", 1)));
  EXPECT_FALSE(is_valid_mqtt_string("\xC0\xAF"));         // overlong
  EXPECT_FALSE(is_valid_mqtt_string("\xE0\x80\xAF"));     // overlong
  EXPECT_FALSE(is_valid_mqtt_string("\xED\xB0\x80"));     // low surrogate
  EXPECT_FALSE(is_valid_mqtt_string("\xF4\x90\x80\x80")); // above U+10FFFF
  EXPECT_FALSE(is_valid_mqtt_string("\xE2\x82"));         // truncated
  EXPECT_FALSE(is_valid_mqtt_string("\x80"));             // lone continuation
}

} // namespace
} // namespace posthorn::signal::mqtt
