// The ws-relay protocol (docs/relay.md): every message both ways, and what bad input gets.
#include "signal/wsrelay_codec.hpp"

#include <gtest/gtest.h>

namespace posthorn::signal::wsrelay {
namespace {

TEST(WsRelayCodec, ClientMessagesRoundTrip) {
  const ClientMessage messages[] = {
      Subscribe{"Trystero@app@room"},
      Unsubscribe{"Trystero@app@room"},
      Publish{"Trystero@app@room", R"({"peerId":"AbCdEfGhIjKlMnOpQrSt"})"},
      Publish{"t", ""},
  };
  for (const auto& m : messages) {
    auto back = decode_client_message(encode(m));
    ASSERT_TRUE(std::holds_alternative<ClientMessage>(back)) << encode(m);
    EXPECT_EQ(std::get<ClientMessage>(back), m);
  }
  EXPECT_EQ(encode(Publish{"t", "x"}), R"({"payload":"x","topic":"t","type":"publish"})");
}

TEST(WsRelayCodec, RelayMessagesRoundTrip) {
  const RelayMessage messages[] = {
      Subscribed{"t"},
      Delivery{"t", "{\"offer\":\"\xe2\x98\x83\"}"},
      Refusal{"rate-limited: slow down"},
  };
  for (const auto& m : messages) {
    auto back = decode_relay_message(encode(m));
    ASSERT_TRUE(std::holds_alternative<RelayMessage>(back)) << encode(m);
    EXPECT_EQ(std::get<RelayMessage>(back), m);
  }
  // A delivery is the message without a type.
  EXPECT_EQ(encode(Delivery{"t", "p"}), R"({"payload":"p","topic":"t"})");
}

TEST(WsRelayCodec, UnknownFieldsAreIgnored) {
  auto m = decode_client_message(R"({"type":"subscribe","topic":"t","since":12,"x":[1]})");
  ASSERT_TRUE(std::holds_alternative<ClientMessage>(m));
  EXPECT_EQ(std::get<ClientMessage>(m), ClientMessage(Subscribe{"t"}));
}

TEST(WsRelayCodec, BadInputSaysWhy) {
  const std::pair<const char*, const char*> client_cases[] = {
      {"", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"topic":"t"})", "missing \"type\""},
      {R"({"type":7,"topic":"t"})", "\"type\" is not a string"},
      {R"({"type":"subscribe"})", "missing \"topic\""},
      {R"({"type":"subscribe","topic":""})", "empty topic"},
      {R"({"type":"publish","topic":"t"})", "missing \"payload\""},
      {R"({"type":"publish","topic":"t","payload":{"a":1}})", "\"payload\" is not a string"},
      {R"({"type":"shout","topic":"t"})", "unknown type \"shout\""},
  };
  for (const auto& [text, why] : client_cases) {
    auto m = decode_client_message(text);
    ASSERT_TRUE(std::holds_alternative<DecodeError>(m)) << text;
    EXPECT_EQ(std::get<DecodeError>(m).reason, why) << text;
  }
  const std::string long_topic(kMaxTopicBytes + 1, 'a');
  auto too_long = decode_client_message(R"({"type":"subscribe","topic":")" + long_topic + "\"}");
  ASSERT_TRUE(std::holds_alternative<DecodeError>(too_long));
  EXPECT_EQ(std::get<DecodeError>(too_long).reason, "topic longer than 256 bytes");

  auto no_payload = decode_relay_message(R"({"topic":"t"})");
  ASSERT_TRUE(std::holds_alternative<DecodeError>(no_payload));
  auto bad_error = decode_relay_message(R"({"type":"error","error":null})");
  ASSERT_TRUE(std::holds_alternative<DecodeError>(bad_error));
}

TEST(WsRelayCodec, TextThatIsNotUtf8GoesOutReplacedNeverThrows) {
  const std::string text = encode(Publish{"t", "a\xff"
                                               "b"});
  auto back = decode_client_message(text);
  ASSERT_TRUE(std::holds_alternative<ClientMessage>(back)) << text;
  EXPECT_EQ(std::get<Publish>(std::get<ClientMessage>(back)).payload, "a\xef\xbf\xbd"
                                                                      "b");
}

} // namespace
} // namespace posthorn::signal::wsrelay
