#include "core/bytes.hpp"

#include <gtest/gtest.h>

namespace posthorn {
namespace {

TEST(Bytes, WriterThenReaderRoundTripsBigEndian) {
  ByteWriter w;
  w.u8(0x01);
  w.u16(0x0203);
  w.u32(0x04050607);
  w.u64(0x08090a0b0c0d0e0fULL);
  EXPECT_EQ(to_hex(w.view()), "0102030405060708090a0b0c0d0e0f");
  ByteReader r(w.view());
  EXPECT_EQ(r.u8(), 0x01);
  EXPECT_EQ(r.u16(), 0x0203);
  EXPECT_EQ(r.u32(), 0x04050607u);
  EXPECT_EQ(r.u64(), 0x08090a0b0c0d0e0fULL);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Bytes, ShortReadFailsTheReaderForGood) {
  Bytes three{1, 2, 3};
  ByteReader r(three);
  EXPECT_FALSE(r.u32());
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.u8()) << "a failed reader stays failed";
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(Bytes, HexRoundTripAndRejects) {
  auto b = from_hex("00ffA0");
  ASSERT_TRUE(b);
  EXPECT_EQ(to_hex(*b), "00ffa0");
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

TEST(Bytes, PatchU16OverwritesLengthField) {
  ByteWriter w;
  w.u16(0);
  w.u32(7);
  w.patch_u16(0, 4);
  EXPECT_EQ(to_hex(w.view()), "000400000007");
}

} // namespace
} // namespace posthorn
