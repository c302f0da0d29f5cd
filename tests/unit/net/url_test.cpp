#include "net/url.hpp"

#include "net/errc.hpp"

#include <gtest/gtest.h>

namespace posthorn::net {
namespace {

Url must_parse(std::string_view text) {
  auto url = parse_url(text);
  EXPECT_TRUE(url) << text << ": " << url.error().message();
  return url ? *url : Url{};
}

TEST(Url, ParsesTrysteroDefaultBrokers) {
  auto a = must_parse("wss://test.mosquitto.org:8081/mqtt");
  EXPECT_EQ(a.scheme, "wss");
  EXPECT_EQ(a.host, "test.mosquitto.org");
  EXPECT_EQ(a.port, 8081);
  EXPECT_EQ(a.target, "/mqtt");
  EXPECT_FALSE(a.username);
  EXPECT_TRUE(a.is_websocket());
  EXPECT_TRUE(a.is_secure());

  auto b = must_parse("wss://public:public@public.cloud.shiftr.io");
  EXPECT_EQ(b.username, "public");
  EXPECT_EQ(b.password, "public");
  EXPECT_EQ(b.host, "public.cloud.shiftr.io");
  EXPECT_EQ(b.port, 443);
  EXPECT_EQ(b.target, "/");
}

TEST(Url, AppliesDefaultPorts) {
  EXPECT_EQ(must_parse("ws://h").port, 80);
  EXPECT_EQ(must_parse("wss://h").port, 443);
  EXPECT_EQ(must_parse("mqtt://h").port, 1883);
  EXPECT_EQ(must_parse("tcp://h").port, 1883);
  EXPECT_EQ(must_parse("mqtts://h").port, 8883);
  EXPECT_EQ(must_parse("tls://h").port, 8883);
  EXPECT_EQ(must_parse("ws://h:/x").port, 80); // RFC 3986 §3.2.3: empty port = default
}

TEST(Url, SchemeAndHostAreCaseInsensitive) {
  auto url = must_parse("WSS://Broker.Example.COM:9001/Path");
  EXPECT_EQ(url.scheme, "wss");
  EXPECT_EQ(url.host, "broker.example.com");
  EXPECT_EQ(url.target, "/Path"); // the path is case-sensitive
}

TEST(Url, ParsesIpv6Literals) {
  auto url = must_parse("ws://[::1]:8080/mqtt");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 8080);
  EXPECT_TRUE(url.is_ipv6_literal());
  EXPECT_EQ(url.host_header(), "[::1]:8080");
  EXPECT_EQ(must_parse("mqtt://[fe80::1]").port, 1883);
}

TEST(Url, KeepsQueryDropsFragment) {
  EXPECT_EQ(must_parse("ws://h/a?b=c#frag").target, "/a?b=c");
  EXPECT_EQ(must_parse("ws://h?x=1").target, "/?x=1");
  EXPECT_EQ(must_parse("ws://h#frag").target, "/");
}

TEST(Url, PercentDecodesCredentials) {
  auto url = must_parse("mqtt://us%40er:p%3Ass@h");
  EXPECT_EQ(url.username, "us@er");
  EXPECT_EQ(url.password, "p:ss");
  auto user_only = must_parse("mqtt://user@h");
  EXPECT_EQ(user_only.username, "user");
  EXPECT_FALSE(user_only.password);
  // The last '@' ends the userinfo.
  auto at_in_password = must_parse("mqtt://u:a@b@h");
  EXPECT_EQ(at_in_password.password, "a@b");
  EXPECT_EQ(at_in_password.host, "h");
}

TEST(Url, ToStringLeavesCredentialsOutUnlessAsked) {
  auto url = must_parse("wss://u%40x:secret@Host:443/mqtt");
  EXPECT_EQ(url.to_string(), "wss://host/mqtt");
  EXPECT_EQ(url.to_string(true), "wss://u%40x:secret@host/mqtt");
  EXPECT_EQ(must_parse("mqtt://h:1884").to_string(), "mqtt://h:1884/");
  EXPECT_EQ(must_parse(url.to_string(true)), url);
}

TEST(Url, HostHeaderOmitsTheDefaultPort) {
  EXPECT_EQ(must_parse("ws://h:80").host_header(), "h");
  EXPECT_EQ(must_parse("ws://h:81").host_header(), "h:81");
  EXPECT_EQ(must_parse("wss://h:443").host_header(), "h");
}

TEST(Url, RejectsUnsupportedSchemes) {
  EXPECT_EQ(parse_url("http://h").error(), Errc::UnsupportedScheme);
  EXPECT_EQ(parse_url("ftp://h").error(), Errc::UnsupportedScheme);
  EXPECT_EQ(parse_url("http://h").error(), Condition::InvalidArgument);
}

TEST(Url, RejectsMalformedUrls) {
  for (const char* bad :
       {"", "h", "://h", "ws:/h", "ws://", "ws://:80", "ws://h:0", "ws://h:65536", "ws://h:8x",
        "ws://h:-1", "ws://[::1", "ws://[::1]x", "ws://[zz]", "ws://h h/", "ws://h/a b",
        "ws://u%zz@h", "ws://u%4@h", "w s://h", "ws://h/\x7f"})
    EXPECT_EQ(parse_url(bad).error(), Errc::InvalidUrl) << '"' << bad << '"';
}

} // namespace
} // namespace posthorn::net
