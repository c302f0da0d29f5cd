// NIP-01 client and relay messages as Trystero's Nostr strategy exchanges them (spec §5.1, TV14).
#include "signal/nostr_messages.hpp"

#include <gtest/gtest.h>

namespace posthorn::signal::nostr {
namespace {

Event tv14_event() {
  SecretKey secret{};
  secret[31] = 3;
  return make_topic_event(*KeyPair::from_secret(secret), "6g275d2v425x1i5n5v324g3z3v1b166y4d4m6gz",
                          R"({"peerId":"AbCdEfGhIjKlMnOpQrSt"})", 1700000000, Digest{});
}

TEST(NostrMessages, ReqIsWrittenAsTrysteroWritesIt) {
  const Req req{"abc",
                {{.kinds = {22665, 22961},
                  .since = 1700000000,
                  .x_tags = {"5u3z4520511q1m405lw82j475n1h19101s3r1e",
                             "6g275d2v425x1i5n5v324g3z3v1b166y4d4m6gz"}}}};
  EXPECT_EQ(
      encode(ClientMessage(req)),
      R"(["REQ","abc",{"kinds":[22665,22961],"since":1700000000,"#x":)"
      R"(["5u3z4520511q1m405lw82j475n1h19101s3r1e","6g275d2v425x1i5n5v324g3z3v1b166y4d4m6gz"]}])");
}

TEST(NostrMessages, EveryMessageRoundTrips) {
  const auto e = tv14_event();
  for (const ClientMessage& m :
       {ClientMessage(ClientEvent{e}), ClientMessage(Req{"s1", {{.kinds = {1}}, {.since = 5}}}),
        ClientMessage(Close{"s1"})}) {
    auto back = decode_client_message(encode(m));
    ASSERT_TRUE(std::holds_alternative<ClientMessage>(back)) << encode(m);
    EXPECT_EQ(std::get<ClientMessage>(back), m) << encode(m);
  }
  for (const RelayMessage& m :
       {RelayMessage(RelayEvent{"s1", e}), RelayMessage(Ok{e.id, true, ""}),
        RelayMessage(Ok{e.id, false, "rate-limited: slow down"}), RelayMessage(Eose{"s1"}),
        RelayMessage(Notice{"hello"}), RelayMessage(Closed{"s1", "error: shutting down"})}) {
    auto back = decode_relay_message(encode(m));
    ASSERT_TRUE(std::holds_alternative<RelayMessage>(back)) << encode(m);
    EXPECT_EQ(std::get<RelayMessage>(back), m) << encode(m);
  }
}

TEST(NostrMessages, FiltersMatchKindsSinceAndXTags) {
  const auto e = tv14_event();
  EXPECT_TRUE(Filter{}.matches(e));
  EXPECT_TRUE((Filter{.kinds = {1, 22961}}.matches(e)));
  EXPECT_FALSE((Filter{.kinds = {1}}.matches(e)));
  EXPECT_TRUE((Filter{.since = 1700000000}.matches(e)));
  EXPECT_FALSE((Filter{.since = 1700000001}.matches(e)));
  EXPECT_TRUE((Filter{.x_tags = {"other", "6g275d2v425x1i5n5v324g3z3v1b166y4d4m6gz"}}.matches(e)));
  EXPECT_FALSE((Filter{.x_tags = {"other"}}.matches(e)));
}

TEST(NostrMessages, BadMessagesSayWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not JSON"},
      {"{}", "not a NIP-01 message (an array starting with its type)"},
      {"[]", "not a NIP-01 message (an array starting with its type)"},
      {R"(["PING"])", "unknown message type \"PING\""},
      {R"(["EVENT"])", "EVENT takes one event"},
      {R"(["EVENT",{"id":1}])", "malformed event"},
      {R"(["REQ","s"])", "REQ takes a subscription id and filters"},
      {R"(["REQ","","{}"])", "the subscription id is empty or longer than 64 characters"},
      {R"(["REQ","s",{"kinds":[-1]}])", "a kind is not a 32-bit unsigned integer"},
      {R"(["REQ","s",{"since":"now"}])", "\"since\" is not an integer"},
      {R"(["REQ","s",{"#x":"t"}])", "\"#x\" is not an array"},
      {R"(["REQ","s",[]])", "a filter is not an object"},
      {R"(["CLOSE"])", "CLOSE takes a subscription id"},
  };
  for (const auto& [text, why] : cases) {
    auto m = decode_client_message(text);
    ASSERT_TRUE(std::holds_alternative<DecodeError>(m)) << text;
    EXPECT_EQ(std::get<DecodeError>(m).reason, why) << text;
  }
  const std::string long_id(65, 's');
  EXPECT_TRUE(std::holds_alternative<DecodeError>(
      decode_client_message(R"(["CLOSE",")" + long_id + "\"]")));
  EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_relay_message(R"(["OK","id","yes"])")));
  EXPECT_TRUE(std::holds_alternative<DecodeError>(decode_relay_message(R"(["EOSE",1])")));
}

} // namespace
} // namespace posthorn::signal::nostr
