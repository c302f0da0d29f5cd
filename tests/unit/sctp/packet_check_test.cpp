#include "sctp/packet_check.hpp"

#include "sctp_pair.hpp"

#include <gtest/gtest.h>

namespace posthorn::sctp {
namespace {

Bytes hex(std::string_view h) {
  auto b = from_hex(h);
  EXPECT_TRUE(b) << h;
  return b.value_or(Bytes{});
}

constexpr std::string_view kHeader = "13881388"
                                     "01020304"
                                     "00000000"; // ports 5000, vtag, crc

// INIT (RFC 9260 §3.3.2): tag, a_rwnd, OS, MIS, initial TSN, then parameters.
constexpr std::string_view kInitFixed = "11223344"
                                        "00010000"
                                        "0400"
                                        "0400"
                                        "00000001";

TEST(PacketCheck, AcceptsEveryPacketOfARealSession) {
  testing::Pair p;
  std::size_t seen = 0;
  auto check = [&](const Bytes& packet) {
    EXPECT_TRUE(is_well_formed_packet(packet)) << to_hex(packet);
    ++seen;
    return true;
  };
  p.a.tap = check;
  p.b.tap = check;
  ASSERT_TRUE(p.connect_and_wait());
  auto sid = p.a.assoc->open_channel({.label = "chk", .ordered = false, .max_retransmits = 1});
  ASSERT_TRUE(sid);
  ASSERT_TRUE(p.drive_until([&] { return p.b.opened(*sid).has_value(); }, 1000, "open"));
  ASSERT_TRUE(p.a.assoc->send(*sid, Bytes(5000, 7), true));
  p.a.assoc->close_channel(*sid);
  ASSERT_TRUE(p.drive_until([&] { return p.b.has_closed_channel(*sid); }, 10000, "closed"));
  p.a.assoc->close();
  ASSERT_TRUE(p.drive_until([&] { return p.b.has<Closed>(); }, 10000, "shutdown"));
  EXPECT_GT(seen, 10u);
  EXPECT_EQ(p.a.assoc->stats().malformed_packets_dropped, 0u);
  EXPECT_EQ(p.b.assoc->stats().malformed_packets_dropped, 0u);
}

TEST(PacketCheck, RejectsBrokenChunkFraming) {
  EXPECT_FALSE(is_well_formed_packet({}));
  EXPECT_FALSE(is_well_formed_packet(hex(kHeader))) << "no chunk";
  EXPECT_FALSE(is_well_formed_packet(hex(std::string(kHeader) + "03000000"))) << "length 0";
  EXPECT_FALSE(is_well_formed_packet(hex(std::string(kHeader) + "03000003"))) << "length 3";
  EXPECT_FALSE(is_well_formed_packet(hex(std::string(kHeader) + "0300001000000000")))
      << "length past the end";
  EXPECT_TRUE(is_well_formed_packet(hex(std::string(kHeader) + "0e000004"))) << "SHUTDOWN COMPLETE";
  EXPECT_TRUE(is_well_formed_packet(hex(std::string(kHeader) + "0e000004"
                                                               "000000")))
      << "up to 3 bytes of trailing padding";
}

TEST(PacketCheck, ChecksInitParameters) {
  const std::string init = std::string(kHeader) + "0100001c" + std::string(kInitFixed);
  // One parameter: Supported Extensions (0x8008) of length 6, padded to 8.
  EXPECT_TRUE(is_well_formed_packet(hex(init + "8008000682c00000")));
  // The last parameter's padding may be left out of the chunk length (RFC 9260 §3.2).
  EXPECT_TRUE(
      is_well_formed_packet(hex(std::string(kHeader) + "0100001a" + std::string(kInitFixed) +
                                "8008000682c0"
                                "0000")));
  EXPECT_FALSE(is_well_formed_packet(hex(init + "8008000000000000"))) << "parameter length 0";
  EXPECT_FALSE(is_well_formed_packet(hex(init + "8008000c00000000"))) << "parameter past the chunk";
  EXPECT_FALSE(is_well_formed_packet(hex(std::string(kHeader) + "01000010"
                                                                "1122334400010000"
                                                                "04000400")))
      << "INIT shorter than its fixed part";
}

TEST(PacketCheck, RejectsTheInitThatHangsUsrsctp095) {
  // Found by Association.MutatedPacketsNeverCrash: an INIT whose chunk is well formed, but whose
  // chunk padding reads as a zero-length parameter. usrsctp 0.9.5 walks INIT parameters to the
  // end of the packet and loops forever on it (sctp_are_there_new_addresses).
  const Bytes packet = hex("13881388000000000c600c470100001edbfec93e004019000400040035a32b04"
                           "c0000006800800c9c0820000");
  EXPECT_FALSE(is_well_formed_packet(packet));

  testing::Pair p;
  ASSERT_TRUE(p.connect_and_wait());
  p.b.assoc->handle_packet(p.now(), packet); // would never return without the check
  EXPECT_EQ(p.b.assoc->stats().malformed_packets_dropped, 1u);
  EXPECT_EQ(p.b.assoc->state(), Association::State::Connected);
}

TEST(PacketCheck, ChecksErrorCauses) {
  // ABORT with one cause "User Initiated Abort" (12) of length 4: fine; of length 2: not.
  EXPECT_TRUE(is_well_formed_packet(hex(std::string(kHeader) + "06000008"
                                                               "000c0004")));
  EXPECT_FALSE(is_well_formed_packet(hex(std::string(kHeader) + "06000008"
                                                                "000c0002")));
  // ERROR chunk whose cause claims more than the chunk holds.
  EXPECT_FALSE(is_well_formed_packet(hex(std::string(kHeader) + "09000008"
                                                                "00010010")));
  // RE-CONFIG with an Outgoing SSN Reset Request of length 0.
  EXPECT_FALSE(is_well_formed_packet(hex(std::string(kHeader) + "82000008"
                                                                "000d0000")));
}

} // namespace
} // namespace posthorn::sctp
