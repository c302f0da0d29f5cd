// The WebTorrent tracker messages as Trystero 0.25.4 and bittorrent-tracker 11.2.3 write them
// (spec/trystero-wire.md §5.2).
#include "signal/tracker_codec.hpp"

#include <gtest/gtest.h>

namespace posthorn::signal::tracker {
namespace {

const std::string kHash = "0123456789abcdefghij";
const std::string kPeer = "Zy0123456789abcdefgh";
const std::string kOther = "A0000000000000000000";

TEST(TrackerCodec, AnnounceIsWrittenInTrysterosFieldOrder) {
  Announce a{.info_hash = kHash, .peer_id = kPeer, .numwant = 3};
  a.offers = {{"offer-one-id-1234567", "ENC1"}, {"offer-two-id-1234567", "ENC2"}};
  EXPECT_EQ(
      encode(a),
      R"({"action":"announce","info_hash":"0123456789abcdefghij","peer_id":"Zy0123456789abcdefgh",)"
      R"("numwant":3,"offers":[{"offer_id":"offer-one-id-1234567","offer":{"type":"offer","sdp":"ENC1"}},)"
      R"({"offer_id":"offer-two-id-1234567","offer":{"type":"offer","sdp":"ENC2"}}]})");
  Announce dormant{.info_hash = kHash, .peer_id = kPeer, .numwant = 3, .left = 0};
  EXPECT_EQ(
      encode(dormant),
      R"({"action":"announce","info_hash":"0123456789abcdefghij","peer_id":"Zy0123456789abcdefgh",)"
      R"("left":0,"numwant":3,"offers":[]})");
}

TEST(TrackerCodec, ClientMessagesRoundTrip) {
  Announce a{.info_hash = kHash, .peer_id = kPeer, .numwant = 3, .event = "stopped"};
  a.offers = {{"o1", "ENC"}};
  SendAnswer answer{kHash, kPeer, kOther, "o1", "ENC-ANSWER"};
  for (const ClientMessage& m : {ClientMessage{a}, ClientMessage{answer}}) {
    auto decoded = decode_client_message(encode(m));
    ASSERT_TRUE(std::holds_alternative<ClientMessage>(decoded)) << encode(m);
    EXPECT_EQ(std::get<ClientMessage>(decoded), m);
  }
  EXPECT_EQ(
      encode(answer),
      R"({"action":"announce","info_hash":"0123456789abcdefghij","peer_id":"Zy0123456789abcdefgh",)"
      R"("answer":{"type":"answer","sdp":"ENC-ANSWER"},"offer_id":"o1","to_peer_id":"A0000000000000000000"})");
}

TEST(TrackerCodec, TrackerMessagesAsBittorrentTrackerSendsThem) {
  auto reply = decode_tracker_message(
      R"({"complete":0,"incomplete":2,"action":"announce","interval":120,"info_hash":"0123456789abcdefghij"})");
  ASSERT_TRUE(std::holds_alternative<TrackerMessage>(reply));
  const TrackerMessage expected_reply = AnnounceReply{kHash, 120, 0, 2, std::nullopt};
  EXPECT_EQ(std::get<TrackerMessage>(reply), expected_reply);

  auto offer = decode_tracker_message(
      R"({"action":"announce","offer":{"type":"offer","sdp":"ENC"},"offer_id":"o1",)"
      R"("peer_id":"A0000000000000000000","info_hash":"0123456789abcdefghij"})");
  ASSERT_TRUE(std::holds_alternative<TrackerMessage>(offer));
  const TrackerMessage expected_offer = PeerOffer{kHash, kOther, "o1", "ENC"};
  EXPECT_EQ(std::get<TrackerMessage>(offer), expected_offer);

  auto failure = decode_tracker_message(R"({"failure reason":"invalid info_hash"})");
  ASSERT_TRUE(std::holds_alternative<TrackerMessage>(failure));
  const TrackerMessage expected_failure = Failure{"invalid info_hash", {}};
  EXPECT_EQ(std::get<TrackerMessage>(failure), expected_failure);

  for (const TrackerMessage& m : {TrackerMessage{AnnounceReply{kHash, 30, 1, 1, "slow down"}},
                                  TrackerMessage{PeerAnswer{kHash, kOther, "o9", "ENC"}},
                                  TrackerMessage{Failure{"swarm is full", kHash}}}) {
    auto decoded = decode_tracker_message(encode(m));
    ASSERT_TRUE(std::holds_alternative<TrackerMessage>(decoded)) << encode(m);
    EXPECT_EQ(std::get<TrackerMessage>(decoded), m);
  }
}

TEST(TrackerCodec, IdsAreTwentyCodePointsWhetherTextOrBinaryStrings) {
  EXPECT_TRUE(is_valid_id(kHash));
  EXPECT_FALSE(is_valid_id(kHash.substr(1)));
  EXPECT_FALSE(is_valid_id(kHash + "x"));
  // WebTorrent's binary info_hash: 20 UTF-16 units, some of them above U+007F (2 bytes in UTF-8).
  std::string binary;
  for (int i = 0; i < 20; ++i)
    binary += i % 2 ? "\xc3\xbf" : "a"; // ÿ, a, ÿ, …
  EXPECT_TRUE(is_valid_id(binary));
  EXPECT_FALSE(is_valid_id(std::string("\xc3", 1) + kHash.substr(1))); // truncated sequence
}

TEST(TrackerCodec, BadInputIsADecodeErrorNeverAnException) {
  for (
      std::string_view text : {
          "",
          "not json",
          "[]",
          "{}",
          R"({"action":"scrape","info_hash":"x"})",
          R"({"action":"announce","info_hash":"short","peer_id":"Zy0123456789abcdefgh"})",
          R"({"action":"announce","info_hash":"0123456789abcdefghij","peer_id":7})",
          R"({"action":"announce","info_hash":"0123456789abcdefghij","peer_id":"Zy0123456789abcdefgh","offers":{}})",
          R"({"action":"announce","info_hash":"0123456789abcdefghij","peer_id":"Zy0123456789abcdefgh","offers":[{"offer_id":"o"}]})",
          R"({"action":"announce","info_hash":"0123456789abcdefghij","peer_id":"Zy0123456789abcdefgh","answer":{"sdp":"x"},"offer_id":"o"})",
      }) {
    EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_client_message(text))) << text;
  }
  // A trickling peer's answer has no sdp: Trystero ignores it, so do we.
  EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_tracker_message(
      R"({"action":"announce","answer":{"type":"answer"},"offer_id":"o1",)"
      R"("peer_id":"A0000000000000000000","info_hash":"0123456789abcdefghij"})")));
  std::string many =
      R"({"action":"announce","info_hash":"0123456789abcdefghij","peer_id":"Zy0123456789abcdefgh","offers":[)";
  for (std::size_t i = 0; i <= kMaxOffers; ++i)
    many += std::string(i ? "," : "") + R"({"offer_id":"o","offer":{"sdp":"x"}})";
  many += "]}";
  EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_client_message(many)));
}

} // namespace
} // namespace posthorn::signal::tracker
