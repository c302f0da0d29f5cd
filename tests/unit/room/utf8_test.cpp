#include "room/utf8.hpp"

#include <gtest/gtest.h>

namespace posthorn::room {
namespace {

const std::string kFffd = "\xef\xbf\xbd";

std::string lossy(std::string_view s) {
  return decode_utf8_lossy(as_bytes(s));
}

TEST(Utf8, ValidTextPassesThrough) {
  EXPECT_EQ(lossy("h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80"),
            "h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x98\x80");
  EXPECT_EQ(lossy(""), "");
}

TEST(Utf8, LeadingBomIsStrippedOnlyAtTheStart) {
  EXPECT_EQ(lossy("\xef\xbb\xbfhi"), "hi");
  EXPECT_EQ(lossy("\xef\xbb\xbf\xef\xbb\xbfhi"), "\xef\xbb\xbfhi");
  EXPECT_EQ(lossy("a\xef\xbb\xbf"), "a\xef\xbb\xbf");
}

// WHATWG Encoding: one U+FFFD per maximal subpart of an ill-formed sequence, as TextDecoder.
TEST(Utf8, InvalidBytesBecomeReplacementCharactersAsTextDecoder) {
  EXPECT_EQ(lossy("\xff"), kFffd);
  EXPECT_EQ(lossy("a\x80z"), "a" + kFffd + "z");
  EXPECT_EQ(lossy("\xc0\xaf"), kFffd + kFffd);                         // overlong lead
  EXPECT_EQ(lossy("\xe0\x80\x80"), kFffd + kFffd + kFffd);             // overlong 3-byte
  EXPECT_EQ(lossy("\xed\xa0\x80"), kFffd + kFffd + kFffd);             // surrogate
  EXPECT_EQ(lossy("\xf4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd); // > U+10FFFF
  EXPECT_EQ(lossy("\xe2\x98"), kFffd);                                 // truncated at the end: one
  EXPECT_EQ(lossy("\xe2\x98z"), kFffd + "z");                          // truncated, then ASCII
  EXPECT_EQ(lossy("\xf0\x9f\x98"), kFffd);
}

TEST(Utf8, IncrementalDecodingEqualsOneShotForEverySplit) {
  const std::string text = "\xef\xbb\xbf"
                           "a\xe2\x98\x83\xf0\x9f\x98\x80\xe2\x98\xff\xc3\xa9z\xe2";
  const std::string expected = lossy(text);
  for (std::size_t a = 0; a <= text.size(); ++a) {
    for (std::size_t b = a; b <= text.size(); ++b) {
      Utf8Decoder decoder;
      Bytes out;
      const auto bytes = as_bytes(text);
      decoder.feed(bytes.subspan(0, a), out);
      decoder.feed(bytes.subspan(a, b - a), out);
      decoder.feed(bytes.subspan(b), out);
      decoder.finish(out);
      EXPECT_EQ(std::string(out.begin(), out.end()), expected) << a << "," << b;
    }
  }
}

TEST(Utf8, DecoderCanKeepTheBom) {
  Utf8Decoder decoder(false);
  Bytes out;
  decoder.feed(as_bytes("\xef\xbb\xbfx"), out);
  EXPECT_EQ(std::string(out.begin(), out.end()), "\xef\xbb\xbfx");
}

TEST(Utf8, Validity) {
  EXPECT_TRUE(is_valid_utf8(as_bytes("h\xc3\xa9 \xf4\x8f\xbf\xbf")));
  EXPECT_FALSE(is_valid_utf8(as_bytes("\xed\xa0\x80")));
  EXPECT_FALSE(is_valid_utf8(as_bytes("\xe2\x98")));
  EXPECT_FALSE(is_valid_utf8(as_bytes("\xc1\xbf")));
  EXPECT_FALSE(is_valid_utf8(as_bytes("\xf5\x80\x80\x80")));
}

} // namespace
} // namespace posthorn::room
