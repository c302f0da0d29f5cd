#include "room/envelope.hpp"

#include "room/reassembler.hpp"
#include "room_test_util.hpp"

#include <gtest/gtest.h>

namespace posthorn::room {
namespace {

using test::chunks_of;
using test::trailer_hex;

constexpr std::string_view kId = "AbCdEfGhIjKlMnOpQrSt"; // genId(20)

TEST(Envelope, RequestMetadataWithoutUserMetadata) {
  EXPECT_EQ(make_request_metadata(kId, std::nullopt), R"({"r":"AbCdEfGhIjKlMnOpQrSt"})");
}

// TV15: A asks "hi" with metadata {"x":1}; B answers {"echo":"hi","meta":{"x":1}}.
TEST(Envelope, Tv15RequestChunks) {
  const std::string meta = make_request_metadata(kId, std::string(R"({"x":1})"));
  EXPECT_EQ(meta, R"({"r":"AbCdEfGhIjKlMnOpQrSt","m":{"x":1}})");
  const auto chunks = chunks_of("ask", 0, PayloadKind::Text, "hi", meta);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(trailer_hex(chunks[0]), "00000280");
  EXPECT_EQ(test::text_of(Bytes(chunks[0].begin() + 36, chunks[0].end())), meta);
  EXPECT_EQ(trailer_hex(chunks[1]), "000001ff");
  EXPECT_EQ(test::text_of(Bytes(chunks[1].begin() + 36, chunks[1].end())), "hi");

  const auto parsed = parse_request_metadata(meta);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, kId);
  EXPECT_EQ(parsed->user_metadata, R"({"x":1})");
}

TEST(Envelope, Tv15ResponseChunks) {
  const std::string meta = make_response_metadata(kId, std::nullopt);
  EXPECT_EQ(meta, R"({"r":"AbCdEfGhIjKlMnOpQrSt"})");
  const auto chunks =
      chunks_of("@_response", 0, PayloadKind::Json, R"({"echo":"hi","meta":{"x":1}})", meta);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(trailer_hex(chunks[0]), "00000a80");
  EXPECT_EQ(trailer_hex(chunks[1]), "000009ff");
  const auto parsed = parse_response_metadata(meta);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, kId);
  EXPECT_FALSE(parsed->error);
}

TEST(Envelope, Tv15ErrorResponse) {
  const std::string meta = make_response_metadata(kId, std::string("nope"));
  EXPECT_EQ(meta, R"({"r":"AbCdEfGhIjKlMnOpQrSt","e":"nope"})");
  const auto chunks = chunks_of("@_response", 0, PayloadKind::Json, "null", meta);
  EXPECT_EQ(chunks[0][34], 0x0a);
  EXPECT_EQ(chunks[1][34], 0x09);
  const auto parsed = parse_response_metadata(meta);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->error, "nope");
}

TEST(Envelope, ErrorMessagesAreJsonEscaped) {
  const std::string meta = make_response_metadata(kId, std::string("bad \"x\"\n"));
  EXPECT_EQ(meta, R"({"r":"AbCdEfGhIjKlMnOpQrSt","e":"bad \"x\"\n"})");
  EXPECT_EQ(parse_response_metadata(meta)->error, "bad \"x\"\n");
}

TEST(Envelope, RequestWithoutStringRIsDropped) {
  EXPECT_FALSE(parse_request_metadata(R"({"m":1})"));
  EXPECT_FALSE(parse_request_metadata(R"({"r":1})"));
  EXPECT_FALSE(parse_request_metadata(R"({"r":null})"));
  EXPECT_FALSE(parse_request_metadata(R"(["r","x"])"));
  EXPECT_FALSE(parse_request_metadata(R"("r")"));
  EXPECT_FALSE(parse_request_metadata("not json"));
}

TEST(Envelope, RequestUserMetadataIsKeptRawWhateverItsValue) {
  auto parsed = parse_request_metadata(R"({"r":"id","m":null})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->user_metadata, "null");
  parsed = parse_request_metadata(R"({"m":{"b":1.50,"a":[1e3]},"r":"id"})");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->user_metadata, R"({"b":1.50,"a":[1e3]})");
  parsed = parse_request_metadata(R"({"r":"id"})");
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->user_metadata);
}

TEST(Envelope, ResponseErrorCountsOnlyWhenAString) {
  auto parsed = parse_response_metadata(R"({"r":"id","e":42})");
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->error);
  EXPECT_FALSE(parse_response_metadata(R"({"e":"x"})"));
}

TEST(Envelope, RequestSurvivesReassembly) {
  Reassembler reassembler;
  const std::string meta = make_request_metadata(kId, std::string(R"({"x":1})"));
  for (const auto& c : chunks_of("ask", 0, PayloadKind::Text, "hi", meta))
    reassembler.handle_chunk("A", c);
  std::optional<Complete> complete;
  while (auto e = reassembler.poll_event())
    if (auto* c = std::get_if<Complete>(&*e)) complete = std::move(*c);
  ASSERT_TRUE(complete);
  ASSERT_TRUE(complete->metadata_json);
  const auto parsed = parse_request_metadata(*complete->metadata_json);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, kId);
  EXPECT_EQ(parsed->user_metadata, R"({"x":1})");
}

} // namespace
} // namespace posthorn::room
