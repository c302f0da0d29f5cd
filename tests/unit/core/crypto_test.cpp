#include "core/crypto.hpp"

#include <gtest/gtest.h>

namespace posthorn::crypto {
namespace {

TEST(Crypto, Sha256OfAbcMatchesFips180Vector) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, IncrementalSha256EqualsOneShot) {
  Sha256 h;
  h.update(as_bytes("a"));
  h.update(as_bytes("bc"));
  EXPECT_EQ(h.finish(), sha256(as_bytes("abc")));
}

TEST(Crypto, HmacSha1MatchesRfc2202Case2) {
  EXPECT_EQ(to_hex(hmac_sha1(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(Crypto, Crc32CheckValues) {
  EXPECT_EQ(crc32(as_bytes("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
}

TEST(Crypto, Base64RoundTripsAllPaddings) {
  EXPECT_EQ(base64_encode(as_bytes("")), "");
  EXPECT_EQ(base64_encode(as_bytes("f")), "Zg==");
  EXPECT_EQ(base64_encode(as_bytes("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(as_bytes("foo")), "Zm9v");
  EXPECT_EQ(base64_encode(as_bytes("foobar")), "Zm9vYmFy");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto decoded = base64_decode(base64_encode(as_bytes(s)));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(as_string_view(*decoded), s);
  }
}

TEST(Crypto, Base64RejectsForeignCharacters) {
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64_decode("Z"));
}

TEST(Crypto, ConstantTimeCompare) {
  EXPECT_TRUE(equal_constant_time(as_bytes("abc"), as_bytes("abc")));
  EXPECT_FALSE(equal_constant_time(as_bytes("abc"), as_bytes("abd")));
  EXPECT_FALSE(equal_constant_time(as_bytes("abc"), as_bytes("ab")));
}

} // namespace
} // namespace posthorn::crypto
