// STUN/TURN server URLs as users write them (RFC 7064, RFC 7065), parsed without the network.
#include "ice/server_url.hpp"

#include <gtest/gtest.h>

namespace posthorn::ice {
namespace {

TEST(ServerUrlParse, HostsStayNamesOrLiteralsWithTheDefaultPort) {
  auto name = parse_stun_url("stun:stun.example.org");
  ASSERT_TRUE(name) << name.error();
  EXPECT_EQ((*name).host, "stun.example.org");
  EXPECT_EQ((*name).port, 3478);
  auto v6 = parse_turn_url("turn:[2001:db8::1]:5349?transport=tcp");
  ASSERT_TRUE(v6) << v6.error();
  EXPECT_EQ((*v6).host, "2001:db8::1");
  EXPECT_EQ((*v6).port, 5349);
  EXPECT_EQ((*v6).transport, TurnTransport::Tcp);
  auto bracketed_no_port = parse_stun_url("stun:[::1]");
  ASSERT_TRUE(bracketed_no_port) << bracketed_no_port.error();
  EXPECT_EQ((*bracketed_no_port).port, 3478);
}

TEST(ServerUrlParse, StunTakesStunsAndNoSchemeAndIgnoresAQuery) {
  for (const char* url : {"stuns:192.0.2.1:3478", "192.0.2.1:3478", "stun:192.0.2.1:3478?x=y"}) {
    auto parsed = parse_stun_url(url);
    ASSERT_TRUE(parsed) << url << ": " << parsed.error();
    EXPECT_EQ((*parsed).host, "192.0.2.1") << url;
    EXPECT_EQ((*parsed).port, 3478) << url;
  }
}

TEST(ServerUrlParse, EachMistakeGetsItsOwnSentence) {
  struct Case {
    ServerUrlResult (*parse)(std::string_view);
    const char* url;
    const char* says;
  };
  const Case cases[] = {
      {parse_stun_url, "stun:", "missing host"},
      {parse_turn_url, "turn::3478", "missing host"},
      {parse_turn_url, "turn:[::1", "unterminated IPv6 literal"},
      {parse_turn_url, "turn:[::1]x", "unexpected 'x' after the IPv6 literal"},
      {parse_turn_url, "turn:::1", "needs brackets"},
      {parse_stun_url, "stun:2001:db8::1:3478", "needs brackets"},
      {parse_turn_url, "turn:192.0.2.1:", "bad port ''"},
      {parse_turn_url, "turn:192.0.2.1:0", "bad port '0'"},
      {parse_turn_url, "turn:192.0.2.1:65536", "bad port '65536'"},
      {parse_turn_url, "turn:192.0.2.1:34x", "bad port '34x'"},
      {parse_turn_url, "turn:192.0.2.1?transport=sctp", "unsupported TURN URL query"},
      {parse_turn_url, "turns:192.0.2.1", "TURN over TLS"},
      {parse_turn_url, "stun:192.0.2.1", "starts with 'turn:'"},
  };
  for (const auto& c : cases) {
    auto parsed = c.parse(c.url);
    ASSERT_FALSE(parsed) << c.url;
    EXPECT_NE(parsed.error().find(c.says), std::string::npos) << c.url << ": " << parsed.error();
  }
}

} // namespace
} // namespace posthorn::ice
