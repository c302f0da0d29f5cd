#include "sctp/checksum.hpp"

#include "core/crypto.hpp"
#include "core/rng.hpp"

#include <gtest/gtest.h>

namespace posthorn::sctp {
namespace {

std::uint32_t wire_value(ByteView packet) {
  return std::uint32_t{packet[8]} | std::uint32_t{packet[9]} << 8 |
         std::uint32_t{packet[10]} << 16 | std::uint32_t{packet[11]} << 24;
}

TEST(Checksum, MatchesTheReferenceCrc32cForEverySize) {
  SeededRng rng(11);
  for (std::size_t size = 12; size < 1300; size += 1 + size / 16) {
    Bytes packet = rng.bytes(size);
    fill_checksum(packet);
    Bytes zeroed = packet;
    zeroed[8] = zeroed[9] = zeroed[10] = zeroed[11] = 0;
    EXPECT_EQ(wire_value(packet), crypto::crc32c(zeroed)) << size;
  }
}

TEST(Checksum, KnownVector) {
  // RFC 3720 B.4: CRC32c of 32 zero bytes is 0x8a9136aa. With the checksum field counted as zero
  // a 32-byte all-zero packet has exactly that checksum, stored least significant byte first.
  Bytes packet(32, 0);
  fill_checksum(packet);
  EXPECT_EQ(to_hex(ByteView(packet).subspan(8, 4)), "aa36918a");
}

} // namespace
} // namespace posthorn::sctp
