#include "rtc/sdp.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace posthorn::rtc {
namespace {

std::string read_golden(const std::string& name) {
  std::ifstream in(std::string(POSTHORN_TEST_DATA_DIR) + "/sdp/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string with_crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

SessionDescription parse_golden(const std::string& name) {
  SdpParseStats stats;
  auto d = parse_sdp(read_golden(name), &stats);
  EXPECT_TRUE(d) << name << ": " << (d ? "" : d.error().message());
  EXPECT_EQ(stats.skipped_candidates, 0u) << name;
  EXPECT_EQ(stats.ignored_lines, 0u) << name;
  return d ? *d : SessionDescription{};
}

SessionDescription parse_ok(std::string_view text, SdpParseStats* stats = nullptr) {
  auto d = parse_sdp(text, stats);
  EXPECT_TRUE(d) << text;
  return d ? *d : SessionDescription{};
}

const std::string kHeader = "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\n";
const std::string kDataSection = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n";

// --- real stacks --------------------------------------------------------------------------------

class GoldenSdp : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenSdp, RoundTripsThroughTheWriter) {
  const auto d = parse_golden(GetParam());
  const std::string text = to_string(d);
  auto again = parse_sdp(text);
  ASSERT_TRUE(again) << text;
  EXPECT_EQ(*again, d) << text;
  EXPECT_EQ(to_string(*again), text);
}

TEST_P(GoldenSdp, ParsesCrlfAndLfAlike) {
  const std::string lf = read_golden(GetParam());
  auto crlf = parse_sdp(with_crlf(lf));
  ASSERT_TRUE(crlf);
  EXPECT_EQ(*crlf, parse_golden(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(RealStacks, GoldenSdp,
                         ::testing::Values("chrome_offer.sdp", "chrome_offer_gathered.sdp",
                                           "safari_answer.sdp", "firefox_offer.sdp",
                                           "libdatachannel_offer.sdp", "werift_offer.sdp",
                                           "pion_offer.sdp", "legacy_dtls_sctp_offer.sdp",
                                           "chrome_av_app_offer.sdp",
                                           "chrome_av_app_answer_expected.sdp"));

TEST(SdpParse, ChromeDataChannelOffer) {
  const auto d = parse_golden("chrome_offer.sdp");
  EXPECT_EQ(d.origin_username, "-");
  EXPECT_EQ(d.session_id, 4611731400430051336u);
  EXPECT_EQ(d.session_version, 2u);
  EXPECT_EQ(d.session_name, "-");
  EXPECT_EQ(d.bundle_groups, (std::vector<std::vector<std::string>>{{"0"}}));
  EXPECT_EQ(d.other_attributes,
            (std::vector<std::string>{"extmap-allow-mixed", "msid-semantic: WMS"}));
  EXPECT_FALSE(d.ice_ufrag);
  EXPECT_FALSE(d.fingerprint);
  ASSERT_EQ(d.media.size(), 1u);
  const auto& m = d.media[0];
  EXPECT_EQ(m.kind, "application");
  EXPECT_EQ(m.port, 9);
  EXPECT_EQ(m.protocol, "UDP/DTLS/SCTP");
  EXPECT_EQ(m.formats, std::vector<std::string>{"webrtc-datachannel"});
  EXPECT_EQ(m.connection_address, "0.0.0.0");
  EXPECT_EQ(m.mid, "0");
  EXPECT_EQ(m.ice_ufrag, "EsAw");
  EXPECT_EQ(m.ice_pwd, "bP+XJMM09aR8AiX1jdukzR6Y");
  EXPECT_EQ(m.ice_options, std::vector<std::string>{"trickle"});
  ASSERT_TRUE(m.fingerprint);
  EXPECT_EQ(m.fingerprint->algorithm, "sha-256");
  EXPECT_EQ(m.fingerprint->value, "A5:4D:CA:18:25:30:BB:1D:6D:13:2C:DE:D6:23:7B:2E:D9:1E:3F:72:"
                                  "1F:CB:19:71:17:44:94:D6:49:3C:9D:5C");
  EXPECT_EQ(m.setup, SetupRole::ActPass);
  EXPECT_EQ(m.sctp_port, 5000);
  EXPECT_EQ(m.max_message_size, 262144u);
  EXPECT_TRUE(m.candidates.empty());
  EXPECT_FALSE(m.end_of_candidates);
  EXPECT_FALSE(m.direction);
  EXPECT_TRUE(m.other_attributes.empty());
  EXPECT_TRUE(m.is_data_channel());
  EXPECT_EQ(d.effective_ufrag(m), "EsAw");
  EXPECT_EQ(d.effective_setup(m), SetupRole::ActPass);
}

TEST(SdpParse, ChromeGatheredOfferWithMdnsCandidates) {
  const auto d = parse_golden("chrome_offer_gathered.sdp");
  const auto& m = d.media.at(0);
  EXPECT_EQ(m.port, 61732);
  EXPECT_EQ(m.connection_address, "203.0.113.7");
  ASSERT_EQ(m.candidates.size(), 3u);
  EXPECT_TRUE(m.candidates[0].is_mdns());
  EXPECT_EQ(m.candidates[0].extension("network-cost"), "999");
  EXPECT_EQ(m.candidates[1].type, ice::CandidateType::ServerReflexive);
  EXPECT_EQ(m.candidates[1].related_address, "0.0.0.0");
  EXPECT_EQ(m.candidates[2].transport, ice::TransportProtocol::Tcp);
  EXPECT_EQ(m.candidates[2].tcp_type, ice::TcpType::Active);
}

TEST(SdpParse, SafariAnswerWithIpv6) {
  const auto d = parse_golden("safari_answer.sdp");
  const auto& m = d.media.at(0);
  EXPECT_EQ(m.connection_address, "2001:db8:85a3::8a2e:370:7334");
  EXPECT_EQ(m.setup, SetupRole::Active);
  ASSERT_EQ(m.candidates.size(), 3u);
  EXPECT_EQ(m.candidates[0].socket_address()->family(), IpFamily::V6);
  EXPECT_EQ(m.candidates[1].socket_address()->family(), IpFamily::V4);
  EXPECT_NE(to_string(d).find("c=IN IP6 2001:db8:85a3::8a2e:370:7334\r\n"), std::string::npos);
}

TEST(SdpParse, FirefoxOfferWithSessionLevelFingerprint) {
  const auto d = parse_golden("firefox_offer.sdp");
  EXPECT_EQ(d.origin_username, "mozilla...THIS_IS_SDPARTA-128.0");
  EXPECT_EQ(d.session_id, 6510443545512397093u);
  EXPECT_EQ(d.session_version, 0u);
  ASSERT_TRUE(d.fingerprint);
  EXPECT_EQ(d.ice_options, std::vector<std::string>{"trickle"});
  EXPECT_EQ(d.other_attributes, std::vector<std::string>{"msid-semantic:WMS *"});
  const auto& m = d.media.at(0);
  EXPECT_FALSE(m.fingerprint);
  EXPECT_EQ(d.effective_fingerprint(m), d.fingerprint);
  EXPECT_TRUE(m.ice_options.empty());
  EXPECT_EQ(d.effective_ice_options(m), std::vector<std::string>{"trickle"});
  EXPECT_EQ(m.direction, "sendrecv");
  EXPECT_EQ(m.ice_ufrag, "0b2d4f31");
  EXPECT_EQ(m.ice_pwd, "9a6a3b7a42b6c13c6e4a0b4d9ea7b0a9");
  EXPECT_EQ(m.port, 50429);
  EXPECT_EQ(m.max_message_size, 1073741823u);
  EXPECT_TRUE(m.end_of_candidates);
  ASSERT_EQ(m.candidates.size(), 4u);
  EXPECT_EQ(m.candidates[0].foundation, "0");
  EXPECT_TRUE(m.candidates[0].is_mdns());
  EXPECT_EQ(m.candidates[1].tcp_type, ice::TcpType::Active);
  EXPECT_EQ(m.candidates[3].type, ice::CandidateType::Relayed);
  EXPECT_EQ(m.candidates[3].related_port, 50429);
}

TEST(SdpParse, LibdatachannelOfferWithCommaSeparatedIceOptions) {
  const auto d = parse_golden("libdatachannel_offer.sdp");
  EXPECT_EQ(d.origin_username, "rtc");
  EXPECT_EQ(d.session_id, 2876462378u);
  EXPECT_EQ(d.ice_options, (std::vector<std::string>{"ice2", "trickle"}));
  ASSERT_TRUE(d.fingerprint);
  const auto& m = d.media.at(0);
  EXPECT_EQ(m.connection_address, "192.168.1.10");
  EXPECT_EQ(m.direction, "sendrecv");
  EXPECT_EQ(m.setup, SetupRole::ActPass);
  EXPECT_EQ(m.ice_ufrag, "Tt9N");
  EXPECT_EQ(m.ice_pwd, "tnCp7Tb8qK2N6f+J8G0/Jq");
  ASSERT_EQ(m.candidates.size(), 3u);
  EXPECT_EQ(m.candidates[2].foundation, "CbA+/x7");
  EXPECT_TRUE(m.end_of_candidates);
  EXPECT_EQ(d.effective_fingerprint(m)->algorithm, "sha-256");
}

TEST(SdpParse, WeriftOffer) {
  const auto d = parse_golden("werift_offer.sdp");
  EXPECT_EQ(d.session_id, 58326106u);
  const auto& m = d.media.at(0);
  ASSERT_EQ(m.candidates.size(), 2u);
  EXPECT_EQ(m.candidates[0].foundation.size(), 25u);
  EXPECT_EQ(m.candidates[1].related_address, "192.168.1.31");
  EXPECT_TRUE(m.end_of_candidates);
  EXPECT_EQ(m.max_message_size, 65536u);
  EXPECT_EQ(m.sctp_port, 5000);
}

TEST(SdpParse, PionOffer) {
  const auto d = parse_golden("pion_offer.sdp");
  EXPECT_EQ(d.session_version, 1706000000u);
  EXPECT_TRUE(d.fingerprint);
  EXPECT_EQ(d.other_attributes,
            (std::vector<std::string>{"msid-semantic:WMS*", "extmap-allow-mixed"}));
  const auto& m = d.media.at(0);
  EXPECT_EQ(m.ice_ufrag, "YJbXkHqTmzvbHnEO");
  ASSERT_EQ(m.candidates.size(), 3u);
  EXPECT_EQ(m.candidates[1].tcp_type, ice::TcpType::Passive);
  EXPECT_FALSE(m.max_message_size);
  EXPECT_EQ(m.max_message_size_or_default(), 65536u);
}

TEST(SdpParse, LegacyDtlsSctpWithSctpmap) {
  const auto d = parse_golden("legacy_dtls_sctp_offer.sdp");
  const auto& m = d.media.at(0);
  EXPECT_EQ(m.protocol, "DTLS/SCTP");
  EXPECT_EQ(m.formats, std::vector<std::string>{"5000"});
  EXPECT_EQ(m.mid, "data");
  EXPECT_EQ(m.sctp_port, 5000);
  EXPECT_TRUE(m.other_attributes.empty()); // a=sctpmap is modelled, not kept
  EXPECT_TRUE(m.is_data_channel());
  EXPECT_EQ(d.bundle_groups.at(0), std::vector<std::string>{"data"});
  // Written back in the form such a peer understands.
  const auto text = to_string(d);
  EXPECT_NE(text.find("m=application 9 DTLS/SCTP 5000\r\n"), std::string::npos);
  EXPECT_NE(text.find("a=sctpmap:5000 webrtc-datachannel 1024\r\n"), std::string::npos);
  EXPECT_EQ(text.find("a=sctp-port"), std::string::npos);
}

TEST(SdpParse, AudioVideoApplicationOfferAnsweredWithRejections) {
  const auto offer = parse_golden("chrome_av_app_offer.sdp");
  ASSERT_EQ(offer.media.size(), 3u);
  const auto& audio = offer.media[0];
  EXPECT_EQ(audio.kind, "audio");
  EXPECT_EQ(audio.protocol, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(audio.formats.size(), 8u);
  EXPECT_EQ(audio.formats.front(), "111");
  EXPECT_TRUE(audio.rtcp_mux);
  EXPECT_EQ(audio.direction, "sendrecv");
  EXPECT_EQ(audio.other_attributes.front(), "rtcp:9 IN IP4 0.0.0.0");
  EXPECT_FALSE(audio.is_data_channel());
  EXPECT_EQ(offer.media[1].kind, "video");
  EXPECT_EQ(offer.media[1].mid, "1");
  EXPECT_TRUE(offer.media[2].is_data_channel());
  EXPECT_EQ(offer.bundle_groups.at(0), (std::vector<std::string>{"0", "1", "2"}));

  // The answer a data-only peer gives: same m= lines in the same order, audio and video rejected
  // with port 0 and their mids kept, and only the accepted mid in BUNDLE.
  SessionDescription answer;
  answer.session_id = 42;
  answer.session_version = 1;
  answer.other_attributes = {"msid-semantic: WMS"};
  std::vector<std::string> bundle;
  for (const auto& m : offer.media) {
    if (!m.is_data_channel()) {
      answer.media.push_back(make_rejected_section(m));
      continue;
    }
    MediaSection app;
    app.kind = m.kind;
    app.protocol = m.protocol;
    app.formats = m.formats;
    app.mid = m.mid;
    app.ice_ufrag = "pOsT";
    app.ice_pwd = "h0rnh0rnh0rnh0rnh0rnh0";
    app.ice_options = {"trickle"};
    app.fingerprint = Fingerprint{"sha-256", "A5:4D:CA:18:25:30:BB:1D:6D:13:2C:DE:D6:23:7B:2E:D9:"
                                             "1E:3F:72:1F:CB:19:71:17:44:94:D6:49:3C:9D:5C"};
    app.setup = SetupRole::Active;
    app.sctp_port = m.sctp_port_or_default();
    app.max_message_size = 262144;
    answer.media.push_back(app);
    bundle.push_back(m.mid);
  }
  answer.bundle_groups.push_back(bundle);
  EXPECT_EQ(to_string(answer), with_crlf(read_golden("chrome_av_app_answer_expected.sdp")));

  const auto reparsed = parse_golden("chrome_av_app_answer_expected.sdp");
  ASSERT_EQ(reparsed.media.size(), offer.media.size());
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    EXPECT_EQ(reparsed.media[i].mid, offer.media[i].mid);
    EXPECT_EQ(reparsed.media[i].kind, offer.media[i].kind);
  }
  EXPECT_TRUE(reparsed.media[0].is_rejected());
  EXPECT_TRUE(reparsed.media[1].is_rejected());
  EXPECT_FALSE(reparsed.media[2].is_rejected());
  EXPECT_EQ(reparsed, answer);
}

// --- leniency -----------------------------------------------------------------------------------

TEST(SdpParse, SkipsAndCountsMalformedCandidates) {
  SdpParseStats stats;
  const auto d = parse_ok(kHeader + kDataSection +
                              "a=candidate:1 1 udp 5 10.0.0.1 1 typ host\n"
                              "a=candidate:garbage\n"
                              "a=candidate:2 1 udp 5 10.0.0.2 70000 typ host\n"
                              "a=candidate:3 1 ssltcp 5 10.0.0.3 443 typ host\n"
                              "a=candidate:4 1 udp 5 10.0.0.4 4 typ host\n",
                          &stats);
  EXPECT_EQ(stats.skipped_candidates, 3u);
  ASSERT_EQ(d.media.at(0).candidates.size(), 2u);
  EXPECT_EQ(d.media[0].candidates[1].address, "10.0.0.4");
  EXPECT_TRUE(d.media[0].other_attributes.empty());
}

TEST(SdpParse, IgnoresAndCountsLinesOutsideTheModel) {
  SdpParseStats stats;
  const auto d = parse_ok("v=0\n"
                          "o=- 1 2 IN IP4 127.0.0.1\n"
                          "s=-\n"
                          "i=session info\n"
                          "u=http://example.com\n"
                          "e=nobody@example.com\n"
                          "b=AS:30\n"
                          "t=0 0\n"
                          "this is not sdp\n"
                          "A=upper-case type\n"
                          "x=unknown type\n"
                          "a=\n"
                          "a=:no-name\n" +
                              kDataSection + "b=AS:30\ni=media info\nv=0\no=- 3 4 IN IP4 0.0.0.0\n",
                          &stats);
  EXPECT_EQ(stats.ignored_lines, 13u);
  EXPECT_EQ(d.session_id, 1u);
  EXPECT_TRUE(d.other_attributes.empty());
  EXPECT_EQ(d.media.size(), 1u);
}

TEST(SdpParse, IgnoresLinesWithControlCharacters) {
  SdpParseStats stats;
  const auto d =
      parse_ok(kHeader + kDataSection + std::string("a=mid:0\x01\n") +
                   std::string("a=foo\0bar\n", 10) + "a=bar\rbaz\n" + "a=sctp-port:5000\n",
               &stats);
  EXPECT_EQ(stats.ignored_lines, 3u);
  EXPECT_TRUE(d.media.at(0).mid.empty());
  EXPECT_TRUE(d.media[0].other_attributes.empty());
  EXPECT_EQ(d.media[0].sctp_port, 5000);
}

TEST(SdpParse, KeepsInvalidModelledAttributesVerbatim) {
  const auto d = parse_ok(kHeader + "a=setup:sideways\na=ice-lite-x\n" + kDataSection +
                          "a=setup:bogus\n"
                          "a=mid:\n"
                          "a=mid:two words\n"
                          "a=ice-ufrag:a b\n"
                          "a=ice-options:\n"
                          "a=fingerprint:sha-256 XY:ZZ\n"
                          "a=fingerprint:sha-256\n"
                          "a=fingerprint:sha-256 AB:CD:\n"
                          "a=sctp-port:70000\n"
                          "a=sctpmap:5000 something-else 16\n"
                          "a=max-message-size:big\n"
                          "a=max-message-size:99999999999999999999999\n"
                          "a=rtcp-mux:yes\n"
                          "a=end-of-candidates:now\n"
                          "a=sendrecv:x\n");
  EXPECT_FALSE(d.setup);
  EXPECT_FALSE(d.ice_lite);
  EXPECT_EQ(d.other_attributes, (std::vector<std::string>{"setup:sideways", "ice-lite-x"}));
  const auto& m = d.media.at(0);
  EXPECT_FALSE(m.setup);
  EXPECT_TRUE(m.mid.empty());
  EXPECT_FALSE(m.ice_ufrag);
  EXPECT_FALSE(m.fingerprint);
  EXPECT_FALSE(m.sctp_port);
  EXPECT_FALSE(m.max_message_size);
  EXPECT_FALSE(m.rtcp_mux);
  EXPECT_FALSE(m.end_of_candidates);
  EXPECT_FALSE(m.direction);
  EXPECT_EQ(m.other_attributes.size(), 15u);
  EXPECT_EQ(m.other_attributes.front(), "setup:bogus");
  EXPECT_EQ(m.other_attributes.back(), "sendrecv:x");
}

TEST(SdpParse, FirstValidValueWinsAndRepeatsAreKept) {
  const auto d = parse_ok(kHeader + kDataSection +
                          "a=mid:first\n"
                          "a=mid:second\n"
                          "a=setup:active\n"
                          "a=setup:passive\n"
                          "a=sctp-port:5000\n"
                          "a=sctpmap:6000 webrtc-datachannel 1024\n"
                          "a=max-message-size:1\n"
                          "a=max-message-size:2\n"
                          "a=recvonly\n"
                          "a=sendonly\n"
                          "a=rtcp-mux\n"
                          "a=rtcp-mux\n");
  const auto& m = d.media.at(0);
  EXPECT_EQ(m.mid, "first");
  EXPECT_EQ(m.setup, SetupRole::Active);
  EXPECT_EQ(m.sctp_port, 5000);
  EXPECT_EQ(m.max_message_size, 1u);
  EXPECT_EQ(m.direction, "recvonly");
  EXPECT_TRUE(m.rtcp_mux);
  EXPECT_EQ(m.other_attributes, (std::vector<std::string>{"mid:second", "setup:passive",
                                                          "sctpmap:6000 webrtc-datachannel 1024",
                                                          "max-message-size:2", "sendonly"}));
  EXPECT_EQ(*parse_sdp(to_string(d)), d);
}

TEST(SdpParse, PrefersSha256FingerprintAndNormalisesCase) {
  const auto d =
      parse_ok(kHeader + kDataSection +
               "a=fingerprint:SHA-1 0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9:0a:1b:"
               "2c:3d\n"
               "a=fingerprint:SHA-256 ab:cd:ef:01\n");
  const auto& m = d.media.at(0);
  ASSERT_TRUE(m.fingerprint);
  EXPECT_EQ(m.fingerprint->algorithm, "sha-256");
  EXPECT_EQ(m.fingerprint->value, "AB:CD:EF:01");
  EXPECT_EQ(m.other_attributes,
            std::vector<std::string>{
                "fingerprint:sha-1 0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D"});
  EXPECT_EQ(*parse_sdp(to_string(d)), d);
}

TEST(SdpParse, SessionConnectionAppliesToSectionsWithout) {
  const auto d = parse_ok("v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nc=IN IP4 198.51.100.1\nt=0 0\n" +
                          kDataSection + "m=audio 0 UDP/TLS/RTP/SAVPF 0\nc=IN IP6 ::1\n");
  EXPECT_EQ(d.media.at(0).connection_address, "198.51.100.1");
  EXPECT_EQ(d.media.at(1).connection_address, "::1");
}

TEST(SdpParse, IceOptionsAcceptSpacesCommasAndSeveralLines) {
  const auto d = parse_ok(kHeader + "a=ice-options:trickle ice2\n" + kDataSection +
                          "a=ice-options:ice2,trickle\na=ice-options: renomination\n");
  EXPECT_EQ(d.ice_options, (std::vector<std::string>{"trickle", "ice2"}));
  EXPECT_EQ(d.media.at(0).ice_options,
            (std::vector<std::string>{"ice2", "trickle", "renomination"}));
}

TEST(SdpParse, BundleSemanticsIsCaseInsensitiveOtherGroupsAreKept) {
  const auto d = parse_ok(kHeader + "a=group:bundle a b\na=group:LS a\na=group:BUNDLE\n");
  EXPECT_EQ(d.bundle_groups, (std::vector<std::vector<std::string>>{{"a", "b"}, {}}));
  EXPECT_EQ(d.other_attributes, std::vector<std::string>{"group:LS a"});
}

TEST(SdpParse, BundleOnlySectionWithPortZeroIsNotRejected) {
  // Chrome's max-bundle offers: later sections have port 0 and a=bundle-only (RFC 8843 §6).
  const auto d = parse_ok(kHeader + "a=group:BUNDLE 0 1\n"
                                    "m=audio 9 UDP/TLS/RTP/SAVPF 111\na=mid:0\na=ice-ufrag:abcd\n"
                                    "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\n"
                                    "a=bundle-only\na=mid:1\n");
  const auto& app = d.media.at(1);
  EXPECT_TRUE(app.bundle_only);
  EXPECT_FALSE(app.is_rejected());
  EXPECT_TRUE(app.other_attributes.empty());
  EXPECT_EQ(d.effective_ufrag(app), "abcd");
  EXPECT_NE(to_string(d).find("a=mid:1\r\na=bundle-only\r\n"), std::string::npos);
}

TEST(SdpParse, AcceptsOldPionIceLiteWithValue) {
  const auto d = parse_ok(kHeader + "a=ice-lite:ice-lite\n");
  EXPECT_TRUE(d.ice_lite);
  EXPECT_TRUE(d.other_attributes.empty());
}

TEST(SdpParse, MediaLineForms) {
  const auto d = parse_ok(kHeader + "m=application 9/2 UDP/DTLS/SCTP webrtc-datachannel\n"
                                    "m=application 0 UDP/DTLS/SCTP\n"
                                    "m=video  65535\tUDP/TLS/RTP/SAVPF  96 97 \n");
  ASSERT_EQ(d.media.size(), 3u);
  EXPECT_EQ(d.media[0].port, 9);
  EXPECT_TRUE(d.media[1].is_rejected());
  EXPECT_TRUE(d.media[1].formats.empty());
  EXPECT_EQ(d.media[2].port, 65535);
  EXPECT_EQ(d.media[2].formats, (std::vector<std::string>{"96", "97"}));
}

TEST(SdpParse, ToleratesBomBlankLinesAndTrailingWhitespace) {
  const auto d = parse_ok("\xEF\xBB\xBF\n\n  v=0  \r\no=- 7 8 IN IP4 127.0.0.1 \r\n\r\ns=hello "
                          "world \r\nt=0 0\r\n" +
                          kDataSection + "a=mid:0 \r\n\r\n");
  EXPECT_EQ(d.session_id, 7u);
  EXPECT_EQ(d.session_name, "hello world");
  EXPECT_EQ(d.media.at(0).mid, "0");
}

TEST(SdpParse, AcceptsMinimalAndMediaLessDescriptions) {
  const auto minimal = parse_ok("v=0");
  EXPECT_EQ(minimal, SessionDescription{});
  // What Chrome's createOffer() returns before any channel exists.
  const auto empty = parse_ok("v=0\r\no=- 5 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                              "a=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n");
  EXPECT_TRUE(empty.media.empty());
  EXPECT_EQ(empty.session_id, 5u);
}

TEST(SdpParse, MalformedOriginKeepsDefaults) {
  SdpParseStats stats;
  const auto d = parse_ok("v=0\no=- abc 2 IN IP4 127.0.0.1\ns=\n", &stats);
  EXPECT_EQ(stats.ignored_lines, 1u);
  EXPECT_EQ(d.origin_username, "-");
  EXPECT_EQ(d.session_id, 0u);
  EXPECT_EQ(d.session_name, "-");
  const auto big = parse_ok("v=0\no=- 18446744073709551616 2 IN IP4 127.0.0.1\n", &stats);
  EXPECT_EQ(big.session_id, 0u);
}

// --- errors -------------------------------------------------------------------------------------

void expect_error(std::string_view text, Errc expected) {
  auto d = parse_sdp(text);
  ASSERT_FALSE(d) << text.substr(0, 200);
  EXPECT_EQ(d.error(), expected);
  EXPECT_EQ(d.error(), Condition::ProtocolViolation);
}

TEST(SdpParse, RejectsTextThatIsNotSdp) {
  expect_error("", Errc::MalformedSdp);
  expect_error("\r\n\r\n", Errc::MalformedSdp);
  expect_error("hello", Errc::MalformedSdp);
  expect_error("v=1\r\n", Errc::MalformedSdp);
  expect_error("o=- 1 2 IN IP4 127.0.0.1\r\nv=0\r\n", Errc::MalformedSdp);
  expect_error("{\"type\":\"offer\",\"sdp\":\"v=0\"}", Errc::MalformedSdp);
}

TEST(SdpParse, RejectsBrokenMediaLines) {
  expect_error(kHeader + "m=application 9\n", Errc::MalformedSdp);
  expect_error(kHeader + "m=application\n", Errc::MalformedSdp);
  expect_error(kHeader + "m=application 65536 UDP/DTLS/SCTP webrtc-datachannel\n",
               Errc::MalformedSdp);
  expect_error(kHeader + "m=application x UDP/DTLS/SCTP webrtc-datachannel\n", Errc::MalformedSdp);
  expect_error(kHeader + "m=application -9 UDP/DTLS/SCTP webrtc-datachannel\n", Errc::MalformedSdp);
  expect_error(kHeader + "m=application 9 UDP/DTLS/SCTP web\x01rtc\n", Errc::MalformedSdp);
}

TEST(SdpParse, EnforcesSizeLimits) {
  std::string big = kHeader;
  while (big.size() <= kMaxSdpSize)
    big += "a=x-padding:0123456789abcdef0123456789abcdef\n";
  expect_error(big, Errc::SdpTooLarge);

  std::string sections = kHeader;
  for (std::size_t i = 0; i < kMaxMediaSections; ++i)
    sections += "m=audio 0 RTP/AVP 0\n";
  EXPECT_EQ(parse_ok(sections).media.size(), kMaxMediaSections);
  expect_error(sections + "m=audio 0 RTP/AVP 0\n", Errc::TooManyMediaSections);

  std::string candidates = kHeader + kDataSection;
  for (std::size_t i = 0; i < kMaxCandidatesPerSection; ++i) {
    candidates += "a=candidate:1 1 udp 5 10.0.0.1 " + std::to_string(i + 1) + " typ host\n";
  }
  EXPECT_EQ(parse_ok(candidates).media.at(0).candidates.size(), kMaxCandidatesPerSection);
  expect_error(candidates + "a=candidate:1 1 udp 5 10.0.0.1 1 typ host\n", Errc::TooManyCandidates);
}

} // namespace
} // namespace posthorn::rtc
