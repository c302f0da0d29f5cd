#include "ice/candidate.hpp"

#include "ice/errc.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace posthorn::ice {
namespace {

Candidate parse_ok(std::string_view text) {
  auto c = Candidate::parse(text);
  EXPECT_TRUE(c) << text;
  return c ? *c : Candidate{};
}

void expect_rejected(std::string_view text) {
  auto c = Candidate::parse(text);
  ASSERT_FALSE(c) << "accepted: " << text;
  EXPECT_EQ(c.error(), Errc::MalformedCandidate);
  EXPECT_EQ(c.error(), Condition::ProtocolViolation);
}

// What each stack writes, captured in the forms they really use.
const std::vector<std::string> kRealCandidates = {
    // Chrome trickle (RTCIceCandidate.candidate), with the ufrag extension.
    "candidate:842163049 1 udp 1677729535 203.0.113.7 3478 typ srflx raddr 10.0.0.2 rport 54400 "
    "generation 0 ufrag EsAw network-cost 999",
    // Chrome mDNS host, and Chrome TCP (tcptype before generation).
    "candidate:3367127218 1 udp 2113937151 6a1f7e0c-2b1d-4c8e-9a3b-5e6f7a8b9c0d.local 61732 typ "
    "host generation 0 ufrag EsAw network-id 1 network-cost 10",
    "candidate:1510613869 1 tcp 1518280447 192.168.1.5 9 typ host tcptype active generation 0 "
    "network-id 1",
    // Chrome IPv6 and relay.
    "candidate:2254048910 1 udp 2122262783 2001:db8:85a3::8a2e:370:7334 57112 typ host "
    "generation 0 network-id 2",
    "candidate:3745947134 1 udp 41885439 192.0.2.200 63410 typ relay raddr 0.0.0.0 rport 0 "
    "generation 0 ufrag EsAw network-cost 999",
    // Firefox: upper-case transport, tcptype last, mDNS host.
    "candidate:0 1 UDP 2122187007 192.168.1.23 50429 typ host",
    "candidate:1 1 UDP 2122252543 3c8e8d27-7c6b-4f43-9b9d-2ce0c4e7f9b1.local 54321 typ host",
    "candidate:2 1 TCP 2105524479 192.168.1.5 9 typ host tcptype active",
    "candidate:3 1 UDP 92217343 192.0.2.200 63410 typ relay raddr 198.51.100.54 rport 50429",
    // libjuice (libdatachannel): base64-ish foundation, "a=" prefix.
    "a=candidate:CbA+/x7 1 UDP 2122317823 192.168.1.10 54630 typ host",
    // werift: md5-hex foundation.
    "candidate:c1e0a4cbf3d87aa2d63e5fdd1 1 udp 1694498815 203.0.113.31 40102 typ srflx raddr "
    "192.168.1.31 rport 40102",
    // Pion: TCP passive.
    "candidate:2657394813 1 tcp 1671430143 192.168.1.20 9 typ host tcptype passive",
    // prflx and simultaneous-open.
    "candidate:9 1 tcp 1845501695 198.51.100.8 40000 typ prflx raddr 10.0.0.8 rport 40000 "
    "tcptype so",
};

TEST(Candidate, ParsesChromeServerReflexiveWithExtensions) {
  const auto c = parse_ok(kRealCandidates[0]);
  EXPECT_EQ(c.foundation, "842163049");
  EXPECT_EQ(c.component, 1);
  EXPECT_EQ(c.transport, TransportProtocol::Udp);
  EXPECT_EQ(c.priority, 1677729535u);
  EXPECT_EQ(c.address, "203.0.113.7");
  EXPECT_EQ(c.port, 3478);
  EXPECT_EQ(c.type, CandidateType::ServerReflexive);
  EXPECT_EQ(c.related_address, "10.0.0.2");
  EXPECT_EQ(c.related_port, 54400);
  EXPECT_FALSE(c.tcp_type);
  ASSERT_EQ(c.extensions.size(), 3u);
  EXPECT_EQ(c.extension("generation"), "0");
  EXPECT_EQ(c.extension("ufrag"), "EsAw");
  EXPECT_EQ(c.extension("network-cost"), "999");
  EXPECT_FALSE(c.extension("network-id"));
  EXPECT_FALSE(c.is_mdns());
}

TEST(Candidate, ParsesMdnsHostWithUpperCaseTransport) {
  const auto c = parse_ok(kRealCandidates[6]);
  EXPECT_EQ(c.transport, TransportProtocol::Udp);
  EXPECT_EQ(c.address, "3c8e8d27-7c6b-4f43-9b9d-2ce0c4e7f9b1.local");
  EXPECT_TRUE(c.is_mdns());
  EXPECT_FALSE(c.socket_address());
}

TEST(Candidate, ParsesTcpActiveOnDiscardPort) {
  const auto c = parse_ok(kRealCandidates[7]);
  EXPECT_EQ(c.transport, TransportProtocol::Tcp);
  EXPECT_EQ(c.port, 9);
  EXPECT_EQ(c.tcp_type, TcpType::Active);
  EXPECT_TRUE(c.extensions.empty());
}

TEST(Candidate, ParsesTcpTypeBeforeOtherExtensions) {
  const auto c = parse_ok(kRealCandidates[2]);
  EXPECT_EQ(c.tcp_type, TcpType::Active);
  EXPECT_EQ(c.extension("network-id"), "1");
  const auto so = parse_ok(kRealCandidates.back());
  EXPECT_EQ(so.type, CandidateType::PeerReflexive);
  EXPECT_EQ(so.tcp_type, TcpType::SimultaneousOpen);
}

TEST(Candidate, ParsesIpv6AndGivesSocketAddress) {
  const auto c = parse_ok(kRealCandidates[3]);
  const auto sa = c.socket_address();
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa->family(), IpFamily::V6);
  EXPECT_EQ(sa->port(), 57112);
  EXPECT_EQ(*sa, *SocketAddress::parse("[2001:db8:85a3::8a2e:370:7334]:57112"));
}

TEST(Candidate, ParsesRelayWithZeroRelatedAddress) {
  const auto c = parse_ok(kRealCandidates[4]);
  EXPECT_EQ(c.type, CandidateType::Relayed);
  EXPECT_EQ(c.related_address, "0.0.0.0");
  EXPECT_EQ(c.related_port, 0);
  EXPECT_EQ(c.socket_address(), SocketAddress::parse("192.0.2.200:63410"));
}

TEST(Candidate, AcceptsSdpAttributePrefixAndSurroundingWhitespace) {
  const auto c = parse_ok(kRealCandidates[9]);
  EXPECT_EQ(c.foundation, "CbA+/x7");
  const auto d = parse_ok("  candidate:1 1 udp 5 10.0.0.1 5000  typ\thost \r\n");
  EXPECT_EQ(d.address, "10.0.0.1");
  EXPECT_EQ(d.type, CandidateType::Host);
}

TEST(Candidate, KeepsTrailingExtensionNameWithoutValue) {
  // Pion tolerates this "as seen in the wild"; so do we, and print it back as it was.
  const auto c = parse_ok("candidate:1 1 udp 5 10.0.0.1 5000 typ host generation 0 lonely");
  ASSERT_EQ(c.extensions.size(), 2u);
  EXPECT_EQ(c.extension("lonely"), "");
  EXPECT_EQ(c.to_string(), "candidate:1 1 udp 5 10.0.0.1 5000 typ host generation 0 lonely");
}

TEST(Candidate, RoundTripsEveryRealCandidate) {
  for (const auto& text : kRealCandidates) {
    const auto c = parse_ok(text);
    const auto again = Candidate::parse(c.to_string());
    ASSERT_TRUE(again) << c.to_string();
    EXPECT_EQ(*again, c) << text;
    EXPECT_EQ(again->to_string(), c.to_string());
  }
}

TEST(Candidate, PrintsChromeCanonicalForm) {
  Candidate c;
  c.foundation = "842163049";
  c.priority = 1677729535;
  c.address = "203.0.113.7";
  c.port = 3478;
  c.type = CandidateType::ServerReflexive;
  c.related_address = "10.0.0.2";
  c.related_port = 54400;
  c.extensions = {{"generation", "0"}, {"ufrag", "EsAw"}};
  EXPECT_EQ(c.to_string(), "candidate:842163049 1 udp 1677729535 203.0.113.7 3478 typ srflx raddr "
                           "10.0.0.2 rport 54400 generation 0 ufrag EsAw");
  Candidate t;
  t.foundation = "2";
  t.transport = TransportProtocol::Tcp;
  t.priority = 2105524479;
  t.address = "192.168.1.5";
  t.port = 9;
  t.tcp_type = TcpType::Passive;
  EXPECT_EQ(t.to_string(), "candidate:2 1 tcp 2105524479 192.168.1.5 9 typ host tcptype passive");
}

TEST(Candidate, NormalisesWhatItDoesNotModel) {
  // Case of the transport, leading zeros and the position of raddr/rport/tcptype are not kept;
  // everything else is.
  const auto c = parse_ok("candidate:7 001 UDP 0042 10.0.0.1 00080 typ srflx generation 0 rport 9 "
                          "raddr 10.0.0.2");
  EXPECT_EQ(c.to_string(),
            "candidate:7 1 udp 42 10.0.0.1 80 typ srflx raddr 10.0.0.2 rport 9 generation 0");
}

TEST(Candidate, AcceptsBoundaryValues) {
  const auto c = parse_ok("candidate:12345678901234567890123456789012 256 udp 4294967295 10.0.0.1 "
                          "65535 typ host");
  EXPECT_EQ(c.foundation.size(), 32u);
  EXPECT_EQ(c.component, 256);
  EXPECT_EQ(c.priority, 4294967295u);
  EXPECT_EQ(c.port, 65535);
  EXPECT_EQ(parse_ok("candidate:1 1 udp 0 10.0.0.1 0 typ host").port, 0);
}

TEST(Candidate, RejectsMissingFields) {
  const std::string full = "candidate:1 1 udp 2122252543 192.168.1.5 54321 typ host";
  // Every prefix that drops at least one mandatory token.
  for (std::size_t cut = full.find(' '); cut != std::string::npos; cut = full.find(' ', cut + 1)) {
    expect_rejected(full.substr(0, cut));
  }
  expect_rejected("");
  expect_rejected("candidate:");
  expect_rejected("1 1 udp 2122252543 192.168.1.5 54321 typ host");          // no "candidate:"
  expect_rejected("candidate:1 1 udp 2122252543 192.168.1.5 54321 host");    // no "typ"
  expect_rejected("candidate:1 1 udp 2122252543 192.168.1.5 typ host");      // no port
  expect_rejected("candidate: 1 udp 2122252543 192.168.1.5 54321 typ host"); // no foundation
}

TEST(Candidate, RejectsBadNumbers) {
  expect_rejected("candidate:1 x udp 2122252543 192.168.1.5 54321 typ host");
  expect_rejected("candidate:1 0 udp 2122252543 192.168.1.5 54321 typ host");
  expect_rejected("candidate:1 257 udp 2122252543 192.168.1.5 54321 typ host");
  expect_rejected("candidate:1 -1 udp 2122252543 192.168.1.5 54321 typ host");
  expect_rejected("candidate:1 1 udp high 192.168.1.5 54321 typ host");
  expect_rejected("candidate:1 1 udp +5 192.168.1.5 54321 typ host");
  expect_rejected("candidate:1 1 udp 4294967296 192.168.1.5 54321 typ host");
  expect_rejected("candidate:1 1 udp 99999999999 192.168.1.5 54321 typ host");
  expect_rejected("candidate:1 1 udp 5 192.168.1.5 65536 typ host");
  expect_rejected("candidate:1 1 udp 5 192.168.1.5 5x typ host");
  expect_rejected("candidate:1 1 udp 5 192.168.1.5 -1 typ host");
  expect_rejected("candidate:1 1 udp 5 192.168.1.5 1 typ srflx raddr 10.0.0.1 rport 70000");
}

TEST(Candidate, RejectsBadTokens) {
  expect_rejected("candidate:123456789012345678901234567890123 1 udp 5 10.0.0.1 1 typ host");
  expect_rejected("candidate:1 1 sctp 5 10.0.0.1 1 typ host");
  expect_rejected("candidate:1 1 ssltcp 5 10.0.0.1 1 typ host");
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ foo");
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ HOST");
  expect_rejected("candidate:1 1 udp 5 <script> 1 typ host");
  expect_rejected("candidate:1 1 udp 5 fe80::1%eth0 1 typ host");
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ host tcptype sideways");
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ host typ relay");
  expect_rejected(std::string("candidate:1 1 udp 5 10.0.0.1 1 typ host generation ") + '\0');
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ host ufrag \x01x");
}

TEST(Candidate, RejectsHalfOrRepeatedRelatedAddress) {
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ srflx raddr 10.0.0.2");
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ srflx rport 9");
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ srflx raddr 10.0.0.2 rport 9 raddr 1.2.3.4");
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ srflx raddr 10.0.0.2 rport 9 rport 9");
  expect_rejected("candidate:1 1 tcp 5 10.0.0.1 9 typ host tcptype active tcptype passive");
  expect_rejected("candidate:1 1 udp 5 10.0.0.1 1 typ srflx raddr");
  expect_rejected("candidate:1 1 tcp 5 10.0.0.1 9 typ host tcptype");
}

TEST(Candidate, RejectsOverlongText) {
  std::string text = "candidate:1 1 udp 5 10.0.0.1 1 typ host";
  while (text.size() <= 1024)
    text += " x y";
  expect_rejected(text);
  // Just under the bound is fine.
  std::string ok = "candidate:1 1 udp 5 10.0.0.1 1 typ host";
  while (ok.size() + 4 <= 1024)
    ok += " x y";
  EXPECT_TRUE(Candidate::parse(ok));
}

TEST(Candidate, MdnsDetectionIgnoresIpLiteralsAndIsCaseInsensitive) {
  Candidate c;
  c.address = "abc.LOCAL";
  EXPECT_TRUE(c.is_mdns());
  c.address = "abc.local.";
  EXPECT_TRUE(c.is_mdns());
  c.address = "example.com";
  EXPECT_FALSE(c.is_mdns());
  c.address = "10.0.0.1";
  EXPECT_FALSE(c.is_mdns());
  c.address = "local";
  EXPECT_FALSE(c.is_mdns());
}

TEST(Candidate, TypeNames) {
  EXPECT_EQ(to_string(CandidateType::Host), "host");
  EXPECT_EQ(to_string(CandidateType::ServerReflexive), "srflx");
  EXPECT_EQ(to_string(CandidateType::PeerReflexive), "prflx");
  EXPECT_EQ(to_string(CandidateType::Relayed), "relay");
}

TEST(IceErrc, MapsToPublicConditions) {
  EXPECT_EQ(error_code(Errc::MalformedCandidate), Condition::ProtocolViolation);
  EXPECT_EQ(error_code(Errc::MalformedStun), Condition::ProtocolViolation);
  EXPECT_EQ(error_code(Errc::BadFingerprint), Condition::ProtocolViolation);
  EXPECT_EQ(error_code(Errc::BadMessageIntegrity), Condition::AuthFailed);
  EXPECT_EQ(error_code(Errc::UnknownAttribute), Condition::Unsupported);
  EXPECT_EQ(error_code(Errc::TimedOut), Condition::TimedOut);
  EXPECT_EQ(error_code(Errc::ConsentLost), Condition::TimedOut);
  EXPECT_EQ(error_code(Errc::Failed), Condition::TimedOut);
  EXPECT_STREQ(error_code(Errc::MalformedCandidate).category().name(), "posthorn.ice");
  EXPECT_EQ(error_code(Errc::MalformedCandidate).message(), "malformed ICE candidate");
}

} // namespace
} // namespace posthorn::ice
