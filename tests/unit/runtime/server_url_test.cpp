// STUN/TURN server URLs as users write them (RFC 7064, RFC 7065), resolved without DNS where
// the host is an address literal.
#include "runtime/server_url.hpp"

#include <gtest/gtest.h>

namespace posthorn::runtime {
namespace {

TEST(ServerUrl, StunUrlsTakeTheDefaultPortAndIpv6Literals) {
  auto plain = resolve_stun_url("stun:127.0.0.1");
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ((*plain).to_string(), "127.0.0.1:3478");
  auto v6 = resolve_stun_url("stun:[::1]:5349");
  ASSERT_TRUE(v6) << v6.error();
  EXPECT_EQ((*v6).port(), 5349);
  // The scheme may be left out, as `--stun HOST:PORT` is written.
  auto bare = resolve_stun_url("127.0.0.1:3478");
  ASSERT_TRUE(bare) << bare.error();
  EXPECT_EQ((*bare).port(), 3478);
}

TEST(ServerUrl, TurnUrlsCarryTheirTransport) {
  auto udp = resolve_turn_url("turn:127.0.0.1:3479");
  ASSERT_TRUE(udp) << udp.error();
  EXPECT_EQ((*udp).transport, ice::TurnTransport::Udp);
  EXPECT_EQ((*udp).server.port(), 3479);
  auto tcp = resolve_turn_url("turn:127.0.0.1?transport=tcp");
  ASSERT_TRUE(tcp) << tcp.error();
  EXPECT_EQ((*tcp).transport, ice::TurnTransport::Tcp);
  EXPECT_EQ((*tcp).server.port(), 3478);
}

TEST(ServerUrl, BadUrlsSayWhatIsWrong) {
  EXPECT_FALSE(resolve_stun_url("stun:"));
  EXPECT_FALSE(resolve_turn_url("turns:127.0.0.1")); // TLS is refused, with a reason
  EXPECT_FALSE(resolve_turn_url("turn:127.0.0.1:0"));
  EXPECT_FALSE(resolve_turn_url("turn:127.0.0.1:99999"));
  EXPECT_FALSE(resolve_turn_url("turn:[::1"));
  EXPECT_FALSE(resolve_turn_url("turn:127.0.0.1?transport=sctp"));
  EXPECT_FALSE(resolve_turn_url("turn::3478"));
}

TEST(ServerUrl, ATurnServerForIceNeedsLongTermCredentials) {
  auto turn = turn_server_config("turn:127.0.0.1?transport=tcp", "alice", "secret");
  ASSERT_TRUE(turn) << turn.error();
  EXPECT_EQ((*turn).transport, ice::TurnTransport::Tcp);
  EXPECT_EQ((*turn).username, "alice");
  EXPECT_EQ((*turn).password, "secret");
  auto anonymous = turn_server_config("turn:127.0.0.1", "", "");
  ASSERT_FALSE(anonymous);
  EXPECT_NE(anonymous.error().find("long-term credentials"), std::string::npos);
  EXPECT_FALSE(turn_server_config("turns:127.0.0.1", "alice", "secret"));
}

} // namespace
} // namespace posthorn::runtime
