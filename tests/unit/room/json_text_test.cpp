#include "room/json_text.hpp"

#include <gtest/gtest.h>

namespace posthorn::room::detail {
namespace {

TEST(JsonText, AcceptsWhatJsonParseAccepts) {
  for (const char* ok :
       {"null", "true", "false", "0", "-0", "42", "-1.5e+10", "1E5", "\"\"",
        "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\"", "[]", "{}", " [1, [2, {}]] ",
        "{\"a\":{\"b\":[null,true]},\"c\":\"d\"}", "\t\r\n1\n", "\"\\ud800\"", "\"h\xc3\xa9\""})
    EXPECT_TRUE(is_valid_json(ok)) << ok;
}

TEST(JsonText, RejectsWhatJsonParseRejects) {
  for (const char* bad : {"",
                          " ",
                          "nul",
                          "01",
                          "1.",
                          ".5",
                          "+1",
                          "1e",
                          "-",
                          "[1,]",
                          "{,}",
                          "{\"a\"}",
                          "{\"a\":}",
                          "{a:1}",
                          "[1 2]",
                          "\"a",
                          "\"\\x\"",
                          "\"\\u12\"",
                          "'a'",
                          "1 2",
                          "[",
                          "]",
                          "{\"a\":1,}",
                          "\"tab\there\"",
                          "NaN",
                          "\xef\xbb\xbf"
                          "1",
                          "\x0b"
                          "1"})
    EXPECT_FALSE(is_valid_json(bad)) << bad;
}

TEST(JsonText, DeepNestingDoesNotRecurse) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_TRUE(is_valid_json(deep));
  EXPECT_FALSE(is_valid_json(std::string(200000, '[')));
}

TEST(JsonText, ObjectMembersKeepRawValues) {
  auto members = parse_json_object(R"( { "r" : "abc", "m" : { "x" : [1, 2] } , "n":null } )");
  ASSERT_TRUE(members);
  ASSERT_EQ(members->size(), 3u);
  EXPECT_EQ((*members)[0].key, "r");
  EXPECT_EQ((*members)[0].value, "\"abc\"");
  EXPECT_EQ((*members)[1].key, "m");
  EXPECT_EQ((*members)[1].value, R"({ "x" : [1, 2] })");
  EXPECT_EQ((*members)[2].value, "null");
}

TEST(JsonText, LastDuplicateKeyWinsAsJsonParse) {
  auto members = parse_json_object(R"({"a":1,"a":2})");
  ASSERT_TRUE(members);
  EXPECT_EQ(find_member(*members, "a")->value, "2");
  EXPECT_EQ(find_member(*members, "b"), nullptr);
}

TEST(JsonText, NonObjectsHaveNoMembers) {
  EXPECT_FALSE(parse_json_object("[1]"));
  EXPECT_FALSE(parse_json_object("\"{}\""));
  EXPECT_FALSE(parse_json_object("{\"a\":1"));
  EXPECT_TRUE(parse_json_object("{}"));
}

TEST(JsonText, EscapedKeysAreDecoded) {
  auto members = parse_json_object(R"({"\u0072":"x"})");
  ASSERT_TRUE(members);
  EXPECT_NE(find_member(*members, "r"), nullptr);
}

TEST(JsonText, StringValuesAreDecoded) {
  EXPECT_EQ(json_string_value(R"("a\nb")"), "a\nb");
  EXPECT_EQ(json_string_value(R"("\u00e9\u2603")"), "\xc3\xa9\xe2\x98\x83");
  EXPECT_EQ(json_string_value(R"("\ud83d\ude00")"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(json_string_value(R"("\ud800x")"), "\xef\xbf\xbdx"); // lone surrogate
  EXPECT_EQ(json_string_value("1"), std::nullopt);
  EXPECT_EQ(json_string_value("\"a"), std::nullopt);
}

TEST(JsonText, QuoteMatchesJsonStringify) {
  EXPECT_EQ(json_quote("plain"), "\"plain\"");
  EXPECT_EQ(json_quote("q\"b\\s/"), R"("q\"b\\s/")");
  EXPECT_EQ(json_quote("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(json_quote(std::string("\x01\x1f\0", 3)), R"("\u0001\u001f\u0000")");
  EXPECT_EQ(json_quote("h\xc3\xa9 \xe2\x98\x83"), "\"h\xc3\xa9 \xe2\x98\x83\"");
  EXPECT_EQ(json_quote("bad\xff"), "\"bad\xef\xbf\xbd\"");
}

} // namespace
} // namespace posthorn::room::detail
