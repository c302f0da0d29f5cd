#include "signal/signal_cipher.hpp"

#include "signal/errc.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace posthorn::signal {
namespace {

Bytes counting_iv(std::size_t n = 16) {
  Bytes iv(n);
  std::iota(iv.begin(), iv.end(), std::uint8_t{0});
  return iv;
}

const SignalKey kSecretKey = SignalKey::derive("secret", "posthorn-test", "lobby");
const SignalKey kEmptyKey = SignalKey::derive("", "posthorn-test", "lobby");

constexpr std::string_view kTv5Plain = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n";
constexpr std::string_view kTv5Cipher =
    "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15$"
    "TXodKltu1cIGAyMof9658TX6QXgzO4VQD8sEctm4XwTe1NQc82kCYAxctwUUQZM=";
constexpr std::string_view kTv6Plain =
    R"({"candidate":"candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"})";
constexpr std::string_view kTv6Cipher =
    "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15$"
    "Vw67+LJJ9HF+ab2U7/ldM914FHxQJfaIT21l7L1VTRjBkOc6fV9P6e3te3eWFILqLgDP4pkY23XCWsxb/"
    "4iMrKtW6lERc2Ihj8xhiydpNJbnvCq8LokmYhCRn2GLXtpDxbW06i7D8n6e2moWjyCJoEkiG/"
    "qeYLuppF3YvnpveJgnMfSqcCp7KxhDHFtOrMT+";

TEST(SignalCipher, Tv4KeysAreRawSha256OfPasswordAppAndRoom) {
  EXPECT_EQ(to_hex(kSecretKey.bytes()),
            "b5f27dd8ff8e63b7946b1a3d1564758913d4ab1d8c4f139856ec5700cdf62c33");
  EXPECT_EQ(to_hex(kEmptyKey.bytes()),
            "4b9144113209ecbb0dc90456427e713bbe159ffa8f36a8c8cbed69a05c101607");
}

TEST(SignalCipher, Tv5EncryptsSdpWithSixteenByteIv) {
  EXPECT_EQ(encrypt(kSecretKey, kTv5Plain, counting_iv()), kTv5Cipher);
  EXPECT_EQ(decrypt(kSecretKey, kTv5Cipher).value(), kTv5Plain);
}

TEST(SignalCipher, Tv6EncryptsCandidateJsonUnderTheEmptyPassword) {
  EXPECT_EQ(encrypt(kEmptyKey, kTv6Plain, counting_iv()), kTv6Cipher);
  EXPECT_EQ(decrypt(kEmptyKey, kTv6Cipher).value(), kTv6Plain);
}

TEST(SignalCipher, RandomIvIsSixteenDecimalBytes) {
  SeededRng rng(1);
  const std::string text = encrypt(kSecretKey, "hello", rng);
  const std::string iv = text.substr(0, text.find('$'));
  EXPECT_EQ(std::count(iv.begin(), iv.end(), ','), 15);
  EXPECT_EQ(decrypt(kSecretKey, text).value(), "hello");
  EXPECT_NE(encrypt(kSecretKey, "hello", rng), text); // a fresh IV every time
}

TEST(SignalCipher, RoundTripsEmptyAndBinaryPlaintext) {
  SeededRng rng(2);
  EXPECT_EQ(decrypt(kSecretKey, encrypt(kSecretKey, "", rng)).value(), "");
  const std::string binary("\0\xff\x80 x", 5);
  EXPECT_EQ(decrypt(kSecretKey, encrypt(kSecretKey, binary, rng)).value(), binary);
}

TEST(SignalCipher, AcceptsAnyIvLengthOnReceive) {
  for (std::size_t n : {1u, 12u, 32u, 128u}) {
    const std::string text = encrypt(kSecretKey, "sdp", counting_iv(n));
    EXPECT_EQ(decrypt(kSecretKey, text).value(), "sdp") << n;
  }
}

TEST(SignalCipher, WrongPasswordIsAuthFailed) {
  const auto r = decrypt(kEmptyKey, kTv5Cipher);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::DecryptFailed);
  EXPECT_EQ(r.error(), Condition::AuthFailed);
}

TEST(SignalCipher, TamperingIsDetected) {
  std::string text(kTv5Cipher);
  text[text.find('$') + 5] ^= 0x01; // one base64 digit of the ciphertext
  EXPECT_EQ(decrypt(kSecretKey, text).error(), Errc::DecryptFailed);
  std::string iv_changed(kTv5Cipher);
  iv_changed[0] = '1';
  EXPECT_EQ(decrypt(kSecretKey, iv_changed).error(), Errc::DecryptFailed);
}

TEST(SignalCipher, MalformedTextIsAnErrorNotACrash) {
  const std::string body(kTv5Cipher.substr(kTv5Cipher.find('$')));
  for (const std::string& bad : {
           std::string(""), std::string("$"),
           std::string("0,1,2"),              // no '$'
           body,                              // no IV
           "0,1,,2" + body,                   // empty IV part
           "0,1,2," + body,                   // trailing comma
           "256" + body,                      // not a byte
           "1000" + body,                     // too many digits
           "-1" + body,                       // sign
           " 1" + body,                       // space
           "0x1" + body,                      // hex
           std::string("0,1$"),               // no data
           std::string("0,1$AAAA"),           // shorter than the tag
           std::string("0,1$!!!!"),           // not base64
           std::string(kTv5Cipher) + "$AAAA", // a second '$'
       }) {
    const auto r = decrypt(kSecretKey, bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), Errc::MalformedCiphertext) << bad;
    EXPECT_EQ(r.error(), Condition::ProtocolViolation) << bad;
  }
}

TEST(SignalCipher, RefusesIvsLongerThanOpenSsl) {
  std::string iv = "0";
  for (int i = 0; i < 128; ++i)
    iv += ",0";
  EXPECT_EQ(decrypt(kSecretKey, iv + std::string(kTv5Cipher.substr(kTv5Cipher.find('$')))).error(),
            Errc::MalformedCiphertext);
}

} // namespace
} // namespace posthorn::signal
