#include "core/aes_gcm.hpp"

#include <gtest/gtest.h>

namespace posthorn::crypto {
namespace {

Bytes hex(std::string_view h) {
  return *from_hex(h);
}

Aes256Key key_from_hex(std::string_view h) {
  Aes256Key k{};
  const Bytes b = hex(h);
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

const Aes256Key kZeroKey{};
const Aes256Key kCountingKey =
    key_from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 14 (AES-256, 96-bit IV).
TEST(AesGcm, MatchesGcmSpecTestCase14) {
  const Bytes out = aes256_gcm_encrypt(kZeroKey, Bytes(12, 0), Bytes(16, 0));
  EXPECT_EQ(to_hex(out), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
}

// The vectors below come from Node 20 (createCipheriv and Web Crypto, which agree).
TEST(AesGcm, SixteenByteIvUsesGhashDerivedCounter) {
  const Bytes out = aes256_gcm_encrypt(kCountingKey, Bytes(16, 0x11), as_bytes("hello"));
  EXPECT_EQ(to_hex(out), "2879b16d1f43eafcfc90bf4dda5b857dd0d1621c9c");
}

TEST(AesGcm, AcceptsOneByteAndMaximumIvLengths) {
  EXPECT_EQ(to_hex(aes256_gcm_encrypt(kCountingKey, Bytes(1, 0x11), as_bytes("hello"))),
            "4debff69eb801227e704eb180248fde648b5a479b8");
  EXPECT_EQ(to_hex(aes256_gcm_encrypt(kCountingKey, Bytes(kGcmMaxIvSize, 0x11), as_bytes("hello"))),
            "09bcdb06e595f4282134287dde75c8682d8f4a1c60");
}

TEST(AesGcm, AuthenticatesAdditionalData) {
  const Bytes aad = hex("feedface");
  const Bytes out = aes256_gcm_encrypt(kCountingKey, Bytes(60, 0x11), as_bytes("hello world"), aad);
  EXPECT_EQ(to_hex(out), "ba71076ac3f8fed5561e4e541804fffe95949bf3f0efbb1fe5af7d");
  EXPECT_EQ(aes256_gcm_decrypt(kCountingKey, Bytes(60, 0x11), out, aad), to_bytes("hello world"));
  EXPECT_FALSE(aes256_gcm_decrypt(kCountingKey, Bytes(60, 0x11), out, hex("feedfacf")));
  EXPECT_FALSE(aes256_gcm_decrypt(kCountingKey, Bytes(60, 0x11), out));
}

TEST(AesGcm, EmptyPlaintextIsJustTheTag) {
  const Bytes out = aes256_gcm_encrypt(kCountingKey, Bytes(12, 0), {});
  EXPECT_EQ(to_hex(out), "f05d76ae4ab99fe5a6f69b3148c2363d");
  const auto back = aes256_gcm_decrypt(kCountingKey, Bytes(12, 0), out);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->empty());
}

TEST(AesGcm, RoundTripsEveryIvLength) {
  const Bytes plain = to_bytes("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n");
  for (std::size_t n = 1; n <= kGcmMaxIvSize; ++n) {
    const Bytes iv(n, static_cast<std::uint8_t>(n));
    EXPECT_EQ(aes256_gcm_decrypt(kCountingKey, iv, aes256_gcm_encrypt(kCountingKey, iv, plain)),
              plain)
        << "IV length " << n;
  }
}

TEST(AesGcm, AnyFlippedBitFailsAuthentication) {
  const Bytes iv(16, 7);
  const Bytes sealed = aes256_gcm_encrypt(kCountingKey, iv, as_bytes("attack at dawn"));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(aes256_gcm_decrypt(kCountingKey, iv, bad)) << "byte " << i;
  }
  Bytes other_iv = iv;
  other_iv[0] ^= 1;
  EXPECT_FALSE(aes256_gcm_decrypt(kCountingKey, other_iv, sealed));
  EXPECT_FALSE(aes256_gcm_decrypt(kZeroKey, iv, sealed));
}

TEST(AesGcm, RejectsBadShapesWithoutCrashing) {
  const Bytes sealed = aes256_gcm_encrypt(kCountingKey, Bytes(16, 0), as_bytes("x"));
  EXPECT_FALSE(aes256_gcm_decrypt(kCountingKey, {}, sealed));
  EXPECT_FALSE(aes256_gcm_decrypt(kCountingKey, Bytes(kGcmMaxIvSize + 1, 0), sealed));
  EXPECT_FALSE(aes256_gcm_decrypt(kCountingKey, Bytes(16, 0), ByteView(sealed).first(15)));
  EXPECT_FALSE(aes256_gcm_decrypt(kCountingKey, Bytes(16, 0), {}));
}

} // namespace
} // namespace posthorn::crypto
