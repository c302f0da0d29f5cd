#include "rtc/sdp.hpp"

#include <gtest/gtest.h>

#include <string>

namespace posthorn::rtc {
namespace {

ice::Candidate host(std::string address, std::uint16_t port) {
  ice::Candidate c;
  c.foundation = "1";
  c.priority = 2122260223;
  c.address = std::move(address);
  c.port = port;
  c.extensions = {{"generation", "0"}};
  return c;
}

SessionDescription data_offer() {
  SessionDescription d;
  d.session_id = 4611731400430051336u;
  d.session_version = 2;
  d.bundle_groups = {{"0"}};
  d.other_attributes = {"extmap-allow-mixed", "msid-semantic: WMS"};
  MediaSection m;
  m.kind = "application";
  m.protocol = "UDP/DTLS/SCTP";
  m.formats = {"webrtc-datachannel"};
  m.mid = "0";
  m.ice_ufrag = "EsAw";
  m.ice_pwd = "bP+XJMM09aR8AiX1jdukzR6Y";
  m.ice_options = {"trickle"};
  m.fingerprint = Fingerprint{"sha-256", "AB:CD"};
  m.setup = SetupRole::ActPass;
  m.sctp_port = 5000;
  m.max_message_size = 262144;
  m.candidates = {host("192.168.1.5", 54321)};
  m.end_of_candidates = true;
  m.other_attributes = {"x-custom:1"};
  d.media.push_back(m);
  return d;
}

TEST(SdpWrite, WritesCanonicalOrderWithCrlf) {
  EXPECT_EQ(to_string(data_offer()),
            "v=0\r\n"
            "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "t=0 0\r\n"
            "a=group:BUNDLE 0\r\n"
            "a=extmap-allow-mixed\r\n"
            "a=msid-semantic: WMS\r\n"
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
            "c=IN IP4 0.0.0.0\r\n"
            "a=mid:0\r\n"
            "a=ice-ufrag:EsAw\r\n"
            "a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n"
            "a=ice-options:trickle\r\n"
            "a=fingerprint:sha-256 AB:CD\r\n"
            "a=setup:actpass\r\n"
            "a=sctp-port:5000\r\n"
            "a=max-message-size:262144\r\n"
            "a=candidate:1 1 udp 2122260223 192.168.1.5 54321 typ host generation 0\r\n"
            "a=end-of-candidates\r\n"
            "a=x-custom:1\r\n");
}

TEST(SdpWrite, WritesSessionLevelTransportAttributes) {
  SessionDescription d;
  d.origin_username = "";
  d.session_name = "";
  d.ice_lite = true;
  d.ice_ufrag = "uf";
  d.ice_pwd = "pw";
  d.ice_options = {"ice2", "trickle"};
  d.fingerprint = Fingerprint{"sha-256", "01:02"};
  d.setup = SetupRole::Passive;
  EXPECT_EQ(to_string(d), "v=0\r\n"
                          "o=- 0 0 IN IP4 127.0.0.1\r\n"
                          "s=-\r\n"
                          "t=0 0\r\n"
                          "a=ice-lite\r\n"
                          "a=ice-ufrag:uf\r\n"
                          "a=ice-pwd:pw\r\n"
                          "a=ice-options:ice2 trickle\r\n"
                          "a=fingerprint:sha-256 01:02\r\n"
                          "a=setup:passive\r\n");
}

TEST(SdpWrite, WritesDirectionRtcpMuxAndIpv6Connection) {
  SessionDescription d;
  MediaSection m;
  m.kind = "audio";
  m.port = 0;
  m.protocol = "UDP/TLS/RTP/SAVPF";
  m.formats = {"111", "0"};
  m.direction = "inactive";
  m.rtcp_mux = true;
  m.connection_address = "2001:db8::1";
  d.media.push_back(m);
  const auto text = to_string(d);
  EXPECT_NE(text.find("m=audio 0 UDP/TLS/RTP/SAVPF 111 0\r\n"
                      "c=IN IP6 2001:db8::1\r\n"
                      "a=inactive\r\n"
                      "a=rtcp-mux\r\n"),
            std::string::npos)
      << text;
}

TEST(SdpWrite, WritesLegacySctpmapForOldProtocol) {
  SessionDescription d;
  MediaSection m;
  m.kind = "application";
  m.protocol = "DTLS/SCTP";
  m.formats = {"5000"};
  m.sctp_port = 5000;
  m.max_message_size = 1073741823;
  d.media.push_back(m);
  const auto text = to_string(d);
  EXPECT_NE(text.find("m=application 9 DTLS/SCTP 5000\r\nc=IN IP4 0.0.0.0\r\n"
                      "a=sctpmap:5000 webrtc-datachannel 1024\r\n"
                      "a=max-message-size:1073741823\r\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("sctp-port"), std::string::npos);
}

TEST(SdpWrite, EmptyConnectionAddressIsWrittenAsUnspecified) {
  SessionDescription d;
  MediaSection m;
  m.kind = "application";
  m.protocol = "UDP/DTLS/SCTP";
  m.connection_address.clear();
  d.media.push_back(m);
  EXPECT_NE(to_string(d).find("m=application 9 UDP/DTLS/SCTP\r\nc=IN IP4 0.0.0.0\r\n"),
            std::string::npos);
}

TEST(SdpWrite, ConstructedDescriptionRoundTrips) {
  const auto d = data_offer();
  auto parsed = parse_sdp(to_string(d));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, d);
}

TEST(SdpWrite, EveryLineEndsWithCrlfAndNothingElse) {
  const auto text = to_string(data_offer());
  ASSERT_TRUE(text.ends_with("\r\n"));
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      EXPECT_EQ(text[i - 1], '\r');
    }
    if (text[i] == '\r') {
      EXPECT_EQ(text[i + 1], '\n');
    }
  }
}

} // namespace
} // namespace posthorn::rtc
