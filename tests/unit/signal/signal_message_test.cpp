#include "signal/signal_message.hpp"

#include "signal/errc.hpp"

#include <gtest/gtest.h>

namespace posthorn::signal {
namespace {

using Type = SignalMessage::Type;

SignalMessage parse_ok(std::string_view text) {
  auto r = parse_signal_message(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message());
  return r ? *r : SignalMessage{};
}

Errc parse_error(std::string_view text) {
  auto r = parse_signal_message(text);
  EXPECT_FALSE(r) << text;
  return r ? Errc{} : static_cast<Errc>(r.error().value());
}

// §4.1: each catalogue entry parses and is written back byte for byte in JS's key order.
TEST(SignalMessage, CatalogueRoundTripsByteForByte) {
  for (std::string_view text : {
           R"({"peerId":"S"})",
           R"({"peerId":"S","passive":true})",
           R"({"peerId":"S","offerId":"O","offer":"1,2$AA=="})",
           R"({"peerId":"S","offerId":"O","offer":"1,2$AA==","passive":true})",
           R"({"peerId":"S","offerId":"O","candidate":"1,2$AA=="})",
           R"({"peerId":"S","answer":"1,2$AA==","offerId":"O"})",
           R"({"peerId":"S","answer":"1,2$AA==","offerId":"O","passive":true})",
           R"({"peerId":"S","candidate":"1,2$AA==","offerId":"O"})",
           R"({"peerId":"S","candidate":"1,2$AA==","offerId":"O","passive":true})",
           R"({"peerId":"S","answer":"1,2$AA=="})",
       }) {
    EXPECT_EQ(to_json(parse_ok(text)), text);
  }
}

TEST(SignalMessage, ParsesEachType) {
  const auto announce = parse_ok(R"({"peerId":"R"})");
  EXPECT_EQ(announce.type, Type::Announce);
  EXPECT_EQ(announce.peer_id, "R");
  EXPECT_TRUE(announce.payload.empty());
  EXPECT_FALSE(announce.passive);

  const auto offer = parse_ok(R"({"peerId":"R","offerId":"abc","offer":"X","passive":true})");
  EXPECT_EQ(offer.type, Type::Offer);
  EXPECT_EQ(offer.offer_id, "abc");
  EXPECT_EQ(offer.payload, "X");
  EXPECT_TRUE(offer.passive);

  const auto answer = parse_ok(R"({"peerId":"R","answer":"Y"})");
  EXPECT_EQ(answer.type, Type::Answer);
  EXPECT_FALSE(answer.offer_id);

  const auto offerer_candidate = parse_ok(R"({"peerId":"R","offerId":"o","candidate":"Z"})");
  EXPECT_EQ(offerer_candidate.type, Type::Candidate);
  EXPECT_FALSE(offerer_candidate.answerer_key_order);
  const auto answerer_candidate = parse_ok(R"({"peerId":"R","candidate":"Z","offerId":"o"})");
  EXPECT_TRUE(answerer_candidate.answerer_key_order);
}

TEST(SignalMessage, WritesEachTypeInJsKeyOrder) {
  SignalMessage m{.peer_id = "S", .offer_id = "O", .type = Type::Offer, .payload = "P"};
  EXPECT_EQ(to_json(m), R"({"peerId":"S","offerId":"O","offer":"P"})");
  m.type = Type::Answer;
  EXPECT_EQ(to_json(m), R"({"peerId":"S","answer":"P","offerId":"O"})");
  m.type = Type::Candidate;
  EXPECT_EQ(to_json(m), R"({"peerId":"S","offerId":"O","candidate":"P"})");
  m.answerer_key_order = true;
  m.passive = true;
  EXPECT_EQ(to_json(m), R"({"peerId":"S","candidate":"P","offerId":"O","passive":true})");
  m.offer_id.reset();
  EXPECT_EQ(to_json(m), R"({"peerId":"S","candidate":"P","passive":true})");
  EXPECT_EQ(to_json(SignalMessage{.peer_id = "S"}), R"({"peerId":"S"})");
}

TEST(SignalMessage, TypePriorityIsOfferThenCandidateThenAnswer) {
  EXPECT_EQ(parse_ok(R"({"peerId":"R","answer":"a","candidate":"c","offer":"o"})").type,
            Type::Offer);
  const auto m = parse_ok(R"({"peerId":"R","answer":"a","candidate":"c"})");
  EXPECT_EQ(m.type, Type::Candidate);
  EXPECT_EQ(m.payload, "c");
}

TEST(SignalMessage, InvalidSignalFieldDropsTheWholeMessage) {
  EXPECT_EQ(parse_error(R"({"peerId":"R","offer":""})"), Errc::InvalidSignalField);
  EXPECT_EQ(parse_error(R"({"peerId":"R","offer":1})"), Errc::InvalidSignalField);
  EXPECT_EQ(parse_error(R"({"peerId":"R","answer":null})"), Errc::InvalidSignalField);
  EXPECT_EQ(parse_error(R"({"peerId":"R","candidate":{"candidate":"x"}})"),
            Errc::InvalidSignalField);
  // Even with a valid offer next to it: JS checks all three first.
  EXPECT_EQ(parse_error(R"({"peerId":"R","offer":"o","candidate":false})"),
            Errc::InvalidSignalField);
  // Checked before peerId, as in JS.
  EXPECT_EQ(parse_error(R"({"answer":""})"), Errc::InvalidSignalField);
}

TEST(SignalMessage, PeerIdMustBeANonEmptyString) {
  EXPECT_EQ(parse_error(R"({})"), Errc::MissingPeerId);
  EXPECT_EQ(parse_error(R"({"peerId":""})"), Errc::MissingPeerId);
  EXPECT_EQ(parse_error(R"({"peerId":7})"), Errc::MissingPeerId);
  EXPECT_EQ(parse_error(R"({"peerId":null,"offer":"x"})"), Errc::MissingPeerId);
}

TEST(SignalMessage, RejectsNonObjects) {
  EXPECT_EQ(parse_error(""), Errc::MalformedJson);
  EXPECT_EQ(parse_error("{"), Errc::MalformedJson);
  EXPECT_EQ(parse_error(R"({"peerId":"R"} x)"), Errc::MalformedJson);
  EXPECT_EQ(parse_error("/*c*/{}"), Errc::MalformedJson);
  EXPECT_EQ(parse_error(R"(["peerId","R"])"), Errc::NotAnObject);
  EXPECT_EQ(parse_error(R"("{\"peerId\":\"R\"}")"), Errc::NotAnObject);
  EXPECT_EQ(parse_error("null"), Errc::NotAnObject);
  EXPECT_EQ(parse_error("42"), Errc::NotAnObject);
}

TEST(SignalMessage, LooseOptionalFieldsAreIgnoredNotFatal) {
  const auto m = parse_ok(R"({"peerId":"R","offerId":5,"offer":"o","passive":"yes","x":[1]})");
  EXPECT_FALSE(m.offer_id);
  EXPECT_FALSE(m.passive);
  EXPECT_FALSE(parse_ok(R"({"peerId":"R","offerId":"","answer":"a"})").offer_id);
  EXPECT_FALSE(parse_ok(R"({"peerId":"R","passive":1})").passive);
  // An announce has no offerId (JS never reads it there).
  EXPECT_FALSE(parse_ok(R"({"peerId":"R","offerId":"o"})").offer_id);
}

TEST(SignalMessage, DuplicateKeysKeepTheLastValueLikeJsonParse) {
  const auto m = parse_ok(R"({"peerId":"A","peerId":"B","offer":"x","offer":"y"})");
  EXPECT_EQ(m.peer_id, "B");
  EXPECT_EQ(m.payload, "y");
}

TEST(SignalMessage, UnicodeAndEscapesRoundTrip) {
  const auto m = parse_ok(R"({"peerId":"h\u00e9\n\u0001\"\\/"})");
  EXPECT_EQ(m.peer_id, "h\xC3\xA9\n\x01\"\\/");
  // JSON.stringify: non-ASCII raw, control characters escaped, '/' not escaped.
  EXPECT_EQ(to_json(m), "{\"peerId\":\"h\xC3\xA9\\n\\u0001\\\"\\\\/\"}");
  EXPECT_EQ(parse_ok(to_json(m)), m);
}

TEST(SignalMessage, InvalidUtf8IsRefusedOnInputAndReplacedOnOutput) {
  EXPECT_EQ(parse_error("{\"peerId\":\"\xFF\"}"), Errc::MalformedJson);
  EXPECT_EQ(parse_error(R"({"peerId":"\ud800"})"), Errc::MalformedJson); // lone surrogate
  EXPECT_EQ(to_json(SignalMessage{.peer_id = "a\xFF"}), "{\"peerId\":\"a\xEF\xBF\xBD\"}");
}

TEST(SignalMessage, OversizedInputIsRefusedBeforeParsing) {
  std::string big = R"({"peerId":"R","offer":")" + std::string(kMaxSignalMessageBytes, 'A') + "\"}";
  EXPECT_EQ(parse_error(big), Errc::MessageTooLarge);
  std::string fits = R"({"peerId":"R","offer":")";
  fits += std::string(kMaxSignalMessageBytes - fits.size() - 2, 'A') + "\"}";
  ASSERT_EQ(fits.size(), kMaxSignalMessageBytes);
  EXPECT_EQ(parse_ok(fits).type, Type::Offer);
}

TEST(SignalMessage, DeepNestingIsHandledWithoutRecursionLimits) {
  const std::string deep =
      R"({"peerId":"R","x":)" + std::string(50000, '[') + std::string(50000, ']') + "}";
  EXPECT_EQ(parse_ok(deep).peer_id, "R");
}

} // namespace
} // namespace posthorn::signal
