#include "sctp/dcep.hpp"

#include <gtest/gtest.h>

namespace posthorn::sctp {
namespace {

Bytes hex(std::string_view h) {
  auto b = from_hex(h);
  EXPECT_TRUE(b.has_value()) << h;
  return b.value_or(Bytes{});
}

// RFC 8832 §5.1: type 0x03, channel type, priority, reliability, label len, protocol len, label,
// protocol.
constexpr std::string_view kOpenChat = "03"        // DATA_CHANNEL_OPEN
                                       "00"        // DATA_CHANNEL_RELIABLE
                                       "0100"      // priority 256 (normal)
                                       "00000000"  // reliability parameter
                                       "0004"      // label length
                                       "0000"      // protocol length
                                       "63686174"; // "chat"

TEST(Dcep, EncodesReliableOpenToGoldenBytes) {
  DataChannelOpen open;
  open.label = "chat";
  EXPECT_EQ(to_hex(encode(open)), kOpenChat);
}

TEST(Dcep, ParsesReliableOpenFromGoldenBytes) {
  auto m = parse_dcep(hex(kOpenChat));
  ASSERT_TRUE(m) << m.error().message();
  const auto& open = std::get<DataChannelOpen>(*m);
  EXPECT_EQ(open.channel_type, ChannelType::Reliable);
  EXPECT_EQ(open.priority, priority::kNormal);
  EXPECT_EQ(open.reliability_parameter, 0u);
  EXPECT_EQ(open.label, "chat");
  EXPECT_EQ(open.protocol, "");
}

TEST(Dcep, EncodesUnorderedRexmitOpenWithProtocol) {
  DataChannelOpen open;
  open.channel_type = ChannelType::PartialReliableRexmitUnordered;
  open.priority = priority::kHigh;
  open.reliability_parameter = 3;
  open.label = "a";
  open.protocol = "p";
  EXPECT_EQ(to_hex(encode(open)), "038102000000000300010001"
                                  "61"
                                  "70");
}

TEST(Dcep, ParsesTimedOpen) {
  auto m = parse_dcep(hex("0382008000000fa000020003"
                          "6869"
                          "626a6e"));
  ASSERT_TRUE(m);
  const auto& open = std::get<DataChannelOpen>(*m);
  EXPECT_EQ(open.channel_type, ChannelType::PartialReliableTimedUnordered);
  EXPECT_FALSE(is_ordered(open.channel_type));
  EXPECT_TRUE(is_timed(open.channel_type));
  EXPECT_FALSE(is_rexmit(open.channel_type));
  EXPECT_EQ(open.priority, priority::kBelowNormal);
  EXPECT_EQ(open.reliability_parameter, 4000u);
  EXPECT_EQ(open.label, "hi");
  EXPECT_EQ(open.protocol, "bjn");
}

TEST(Dcep, AckIsOneByte) {
  EXPECT_EQ(to_hex(encode(DataChannelAck{})), "02");
  auto m = parse_dcep(hex("02"));
  ASSERT_TRUE(m);
  EXPECT_TRUE(std::holds_alternative<DataChannelAck>(*m));
}

TEST(Dcep, TrailingBytesAfterTheLastFieldAreIgnored) {
  auto ack = parse_dcep(hex("02ffff"));
  ASSERT_TRUE(ack);
  EXPECT_TRUE(std::holds_alternative<DataChannelAck>(*ack));
  auto open = parse_dcep(hex(std::string(kOpenChat) + "00"));
  ASSERT_TRUE(open);
  EXPECT_EQ(std::get<DataChannelOpen>(*open).label, "chat");
}

TEST(Dcep, EmptyInputIsTruncated) {
  auto m = parse_dcep({});
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), Errc::Truncated);
  EXPECT_EQ(m.error(), Condition::ProtocolViolation);
}

TEST(Dcep, OpenShorterThanItsFixedHeaderIsTruncated) {
  for (std::size_t n = 1; n < kDcepOpenHeaderSize; ++n) {
    Bytes b = hex(kOpenChat);
    b.resize(n);
    auto m = parse_dcep(b);
    ASSERT_FALSE(m) << n;
    EXPECT_EQ(m.error(), Errc::Truncated) << n;
  }
}

TEST(Dcep, LabelLengthBeyondTheBufferIsRejected) {
  auto m = parse_dcep(hex("030001000000000000050000"
                          "63686174")); // says 5, has 4
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), Errc::BadLength);
}

TEST(Dcep, ProtocolLengthBeyondTheBufferIsRejected) {
  auto m = parse_dcep(hex("03000100000000000001ffff"
                          "61"
                          "70"));
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), Errc::BadLength);
}

TEST(Dcep, UnknownMessageTypeIsRejected) {
  for (std::string_view h : {"00", "01", "04", "ff"}) {
    auto m = parse_dcep(hex(h));
    ASSERT_FALSE(m) << h;
    EXPECT_EQ(m.error(), Errc::UnknownMessageType) << h;
  }
}

TEST(Dcep, UnknownChannelTypeIsRejected) {
  for (std::string_view type : {"03", "40", "7f", "83", "ff"}) {
    const std::string h = "03" + std::string(type) +
                          "0100"
                          "00000000"
                          "0000"
                          "0000";
    auto m = parse_dcep(hex(h));
    ASSERT_FALSE(m) << h;
    EXPECT_EQ(m.error(), Errc::UnknownChannelType) << h;
  }
}

TEST(Dcep, EverySpecifiedChannelTypeRoundTrips) {
  const ChannelType all[] = {ChannelType::Reliable,
                             ChannelType::ReliableUnordered,
                             ChannelType::PartialReliableRexmit,
                             ChannelType::PartialReliableRexmitUnordered,
                             ChannelType::PartialReliableTimed,
                             ChannelType::PartialReliableTimedUnordered};
  for (ChannelType t : all) {
    DataChannelOpen open;
    open.channel_type = t;
    open.reliability_parameter = 7;
    open.label = "x";
    auto m = parse_dcep(encode(open));
    ASSERT_TRUE(m);
    EXPECT_EQ(std::get<DataChannelOpen>(*m), open);
  }
  EXPECT_TRUE(is_ordered(ChannelType::PartialReliableRexmit));
  EXPECT_TRUE(is_rexmit(ChannelType::PartialReliableRexmitUnordered));
  EXPECT_FALSE(is_rexmit(ChannelType::ReliableUnordered));
}

TEST(Dcep, MaximumLengthLabelAndProtocolRoundTrip) {
  DataChannelOpen open;
  open.label.assign(65535, 'l');
  open.protocol.assign(65535, 'p');
  Bytes wire = encode(open);
  EXPECT_EQ(wire.size(), kDcepOpenHeaderSize + 2 * 65535);
  auto m = parse_dcep(wire);
  ASSERT_TRUE(m);
  EXPECT_EQ(std::get<DataChannelOpen>(*m), open);
}

TEST(Dcep, LabelIsKeptAsReceivedEvenIfNotUtf8) {
  auto m = parse_dcep(hex("030001000000000000020000"
                          "ff00"));
  ASSERT_TRUE(m);
  EXPECT_EQ(std::get<DataChannelOpen>(*m).label, std::string("\xff\0", 2));
}

TEST(DcepPpid, EmptyMessagesUseTheEmptyPpids) {
  // RFC 8831 §8.
  EXPECT_EQ(static_cast<std::uint32_t>(ppid_for(false, 3)), 51u);
  EXPECT_EQ(static_cast<std::uint32_t>(ppid_for(true, 3)), 53u);
  EXPECT_EQ(static_cast<std::uint32_t>(ppid_for(false, 0)), 56u);
  EXPECT_EQ(static_cast<std::uint32_t>(ppid_for(true, 0)), 57u);
  EXPECT_EQ(static_cast<std::uint32_t>(Ppid::Dcep), 50u);
  EXPECT_EQ(static_cast<std::uint32_t>(Ppid::BinaryPartial), 52u);
  EXPECT_EQ(static_cast<std::uint32_t>(Ppid::StringPartial), 54u);
}

TEST(SctpErrc, ErrorsMapToPublicConditions) {
  EXPECT_EQ(error_code(Errc::Blocked), Condition::Blocked);
  EXPECT_EQ(error_code(Errc::MessageTooLarge), Condition::InvalidArgument);
  EXPECT_EQ(error_code(Errc::ConnectionLost), Condition::TimedOut);
  EXPECT_EQ(error_code(Errc::AbortedByPeer), Condition::Closed);
  EXPECT_EQ(error_code(Errc::BadLength), Condition::ProtocolViolation);
  EXPECT_STREQ(error_code(Errc::Blocked).category().name(), "posthorn.sctp");
  EXPECT_EQ(error_code(Errc::Blocked).message(), "send queue full");
}

} // namespace
} // namespace posthorn::sctp
