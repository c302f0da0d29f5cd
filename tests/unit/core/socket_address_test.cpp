#include "core/socket_address.hpp"

#include <gtest/gtest.h>

namespace posthorn {
namespace {

TEST(SocketAddress, ParsesAndPrintsV4AndV6) {
  auto a = SocketAddress::parse("192.168.1.20:5000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "192.168.1.20:5000");
  EXPECT_TRUE(a->ip().is_private());
  auto b = SocketAddress::parse("[::1]:443");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->family(), IpFamily::V6);
  EXPECT_TRUE(b->ip().is_loopback());
  EXPECT_EQ(b->to_string(), "[::1]:443");
}

TEST(SocketAddress, RejectsMalformed) {
  for (auto bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "[::1]443", "host:80", "1.2.3:80"})
    EXPECT_FALSE(SocketAddress::parse(bad)) << bad;
}

TEST(SocketAddress, ClassifiesRanges) {
  EXPECT_TRUE(IpAddress::parse("169.254.3.4")->is_link_local());
  EXPECT_TRUE(IpAddress::parse("fe80::1")->is_link_local());
  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->is_unspecified());
  EXPECT_TRUE(IpAddress::parse("172.20.0.1")->is_private());
  EXPECT_FALSE(IpAddress::parse("172.32.0.1")->is_private());
  EXPECT_EQ(IpAddress::v4(0x7f000001).to_string(), "127.0.0.1");
}

} // namespace
} // namespace posthorn
