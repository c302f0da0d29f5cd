// The relay's JSON scanner: strict where nlohmann is strict, and nlohmann's quirks where it has
// them (its differential fuzz target is fuzz/tracker_codec_fuzz.cpp).
#include "signal/json_scan.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace posthorn::signal::json {
namespace {

TEST(JsonScan, AcceptsWhatRfc8259Accepts) {
  for (std::string_view text :
       {R"({})", R"([])", R"( {"a" : [1, -0, 2.5e-3, true, false, null, "x"]} )", R"("\u00e9")",
        R"("\ud83d\ude00")", "\"caf\xc3\xa9\"", R"(0)", R"(-12.5E+7)"})
    EXPECT_TRUE(is_valid(text)) << text;
}

TEST(JsonScan, RefusesWhatNlohmannRefuses) {
  for (std::string_view text : {"",
                                "{",
                                R"({"a":})",
                                R"({"a" 1})",
                                R"([1,])",
                                R"(01)",
                                R"(1.)",
                                R"(.5)",
                                R"(-)",
                                R"("\x")",
                                R"("\ud800")",
                                R"("\udc00")",
                                R"("\ud800\u0041")",
                                "\"a\nb\"",
                                "\"\xc0\xaf\"" /* overlong */,
                                "\"\xed\xa0\x80\"" /* UTF-16 surrogate as UTF-8 */,
                                "\"\xf4\x90\x80\x80\"" /* above U+10FFFF */,
                                R"({} {})",
                                R"(tru)",
                                R"(nul)"})
    EXPECT_FALSE(is_valid(text)) << text;
}

TEST(JsonScan, ANulEndsTheInputAsInNlohmann) {
  EXPECT_TRUE(is_valid(std::string_view("{}\0garbage", 10)));
  EXPECT_FALSE(is_valid(std::string_view("\0{}", 3)));
}

TEST(JsonScan, NestingIsBounded) {
  EXPECT_TRUE(is_valid(std::string(kMaxDepth, '[') + std::string(kMaxDepth, ']')));
  EXPECT_FALSE(is_valid(std::string(kMaxDepth + 2, '[') + std::string(kMaxDepth + 2, ']')));
}

TEST(JsonScan, StringsDecodeEscapesAndSurrogatePairs) {
  EXPECT_EQ(string_of(R"("a\"b\\c\/d\b\f\n\r\t")"), "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(string_of(R"("\u00e9\ud83d\ude00")"), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(string_of(R"("\u0000")"), std::string(1, '\0'));
  EXPECT_FALSE(string_of("12"));
}

TEST(JsonScan, NumbersAreClassifiedAsNlohmannDoes) {
  EXPECT_EQ(number_of("-5")->kind, Number::Kind::Signed);
  EXPECT_EQ(number_of("5")->kind, Number::Kind::Unsigned);
  EXPECT_EQ(number_of("18446744073709551615")->u, 18446744073709551615u);
  EXPECT_EQ(number_of("18446744073709551616")->kind, Number::Kind::Float);
  EXPECT_EQ(number_of("1e400")->d, HUGE_VAL);
  EXPECT_EQ(number_of("1e-400")->d, 0.0);
}

TEST(JsonScan, MembersAndElementsAreVisitedInOrder) {
  std::string seen;
  EXPECT_TRUE(for_each_member(R"({"a":1,"b":{"c":[2]},"a":3})", [&](std::string_view k, Span v) {
    seen += std::string(k) + "=" + std::string(v) + ";";
  }));
  EXPECT_EQ(seen, R"(a=1;b={"c":[2]};a=3;)");
  std::size_t n = 0;
  EXPECT_TRUE(for_each_element(R"([1, "x", {}])", [&](Span) { ++n; }));
  EXPECT_EQ(n, 3u);
}

TEST(JsonScan, WritesStringsAsNlohmannDumpDoes) {
  std::string out;
  EXPECT_TRUE(append_string(out, "q\"b\\s/\x01\x7f\n\xc3\xa9"));
  EXPECT_EQ(out, "\"q\\\"b\\\\s/\\u0001\x7f\\n\xc3\xa9\"");
  std::string bad = "keep";
  EXPECT_FALSE(append_string(bad, "\xff"));
  EXPECT_EQ(bad, "keep") << "nothing appended for invalid UTF-8";
}

} // namespace
} // namespace posthorn::signal::json
