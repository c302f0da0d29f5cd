// Which hub a text goes to, decided by peeking at it: what each protocol's clients send, and the
// edges of the peek.
#include "relay/message_route.hpp"

#include "signal/tracker_codec.hpp"
#include "signal/wsrelay_codec.hpp"

#include <gtest/gtest.h>

namespace posthorn::relay {
namespace {

TEST(MessageRoute, EachProtocolAsItsClientsSendIt) {
  EXPECT_EQ(route_message(R"(["REQ","s",{"#x":["t"]}])"), Protocol::Nostr);
  EXPECT_EQ(route_message(R"( ["EVENT",{}])"), Protocol::Nostr);
  // Trystero's torrent strategy and bittorrent-tracker's client lead with "action".
  EXPECT_EQ(route_message(R"({"action":"announce","info_hash":"x","peer_id":"y"})"),
            Protocol::Tracker);
  // Trystero's ws-relay messages lead with "type"…
  EXPECT_EQ(route_message(R"({"type":"publish","topic":"t","payload":"{\"action\":1}"})"),
            Protocol::WsRelay);
  // …ours are encoded with sorted keys, so they lead with "payload" or "topic".
  const auto publish = signal::wsrelay::encode(signal::wsrelay::Publish{"t", "p"});
  ASSERT_TRUE(publish.starts_with(R"({"payload")"));
  EXPECT_EQ(route_message(publish), Protocol::WsRelay);
  const auto answer =
      signal::tracker::encode(signal::tracker::ClientMessage(signal::tracker::SendAnswer{
          std::string(20, 'a'), std::string(20, 'b'), std::string(20, 'c'), "o", "s"}));
  EXPECT_EQ(route_message(answer), Protocol::Tracker);
}

TEST(MessageRoute, AnObjectWithActionAnywhereAtTheTopIsTheTrackers) {
  EXPECT_EQ(route_message(R"({"info_hash":"x","action":"announce"})"), Protocol::Tracker);
  EXPECT_EQ(route_message(R"({"offers":[{"offer":{"sdp":"\"action\":"}}], "action":1})"),
            Protocol::Tracker);
  // Nested or inside a string, "action" is not a top-level key.
  EXPECT_EQ(route_message(R"({"topic":"t","payload":{"action":"announce"}})"), Protocol::WsRelay);
  EXPECT_EQ(route_message(R"({"topic":"\",\"action\":\"x","payload":"p"})"), Protocol::WsRelay);
  EXPECT_EQ(route_message(R"({"topic":["action"],"payload":"p"})"), Protocol::WsRelay);
}

TEST(MessageRoute, WhatCannotBePeekedGoesToWsRelayAsBefore) {
  for (const char* text : {"", "   ", "nope", "{", "{}", "{\"action", "{action:1}", "\"action\"",
                           "{\"a\":1 \"action\":2}", "{\"a\" 1,\"action\":2}", "{\"a\":[1,"})
    EXPECT_EQ(route_message(text), Protocol::WsRelay) << text;
  // Raw comparison: an escaped spelling is not "action".
  EXPECT_EQ(route_message(R"({"\u0061ction":"announce"})"), Protocol::WsRelay);
}

TEST(MessageRoute, FirstJsonKeyPeeksPastWhitespace) {
  EXPECT_EQ(first_json_key(" \t\r\n{ \n\"action\" : 1}"), "action");
  EXPECT_EQ(first_json_key(R"({"a\"b":1})"), R"(a\"b)"); // raw: escapes are not decoded
  EXPECT_EQ(first_json_key(R"({"":1})"), "");
  EXPECT_FALSE(first_json_key("[\"action\"]"));
  EXPECT_FALSE(first_json_key("{ 1: 2}"));
  EXPECT_FALSE(first_json_key("{\"unterminated"));
  EXPECT_FALSE(first_json_key("{\"ends in an escape\\"));
}

TEST(MessageRoute, HasTopLevelKeyStepsOverEveryKindOfValue) {
  const std::string text =
      R"({"s":"a,}\"]","n":-1.5e3,"t":true,"z":null,"o":{"x":[1,{"y":"}"}]},"a":[[],{}] ,"k":0})";
  EXPECT_TRUE(has_top_level_key(text, "k"));
  EXPECT_TRUE(has_top_level_key(text, "s"));
  EXPECT_FALSE(has_top_level_key(text, "x"));
  EXPECT_FALSE(has_top_level_key(text, "y"));
  EXPECT_FALSE(has_top_level_key("{\"o\":{\"k\":1}", "k")); // never closed, and nested anyway
}

} // namespace
} // namespace posthorn::relay
