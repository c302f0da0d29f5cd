#include "rtc/sdp.hpp"

#include <gtest/gtest.h>

#include <utility>

namespace posthorn::rtc {
namespace {

TEST(Sdp, MediaLevelOverridesSessionLevel) {
  SessionDescription d;
  d.ice_ufrag = "session-ufrag";
  d.ice_pwd = "session-pwd";
  d.ice_options = {"trickle"};
  d.fingerprint = Fingerprint{"sha-256", "AA:AA"};
  d.setup = SetupRole::ActPass;
  MediaSection inherits;
  MediaSection overrides;
  overrides.ice_ufrag = "m-ufrag";
  overrides.ice_pwd = "m-pwd";
  overrides.ice_options = {"ice2"};
  overrides.fingerprint = Fingerprint{"sha-256", "BB:BB"};
  overrides.setup = SetupRole::Passive;

  EXPECT_EQ(d.effective_ufrag(inherits), "session-ufrag");
  EXPECT_EQ(d.effective_pwd(inherits), "session-pwd");
  EXPECT_EQ(d.effective_ice_options(inherits), std::vector<std::string>{"trickle"});
  EXPECT_EQ(d.effective_fingerprint(inherits)->value, "AA:AA");
  EXPECT_EQ(d.effective_setup(inherits), SetupRole::ActPass);

  EXPECT_EQ(d.effective_ufrag(overrides), "m-ufrag");
  EXPECT_EQ(d.effective_pwd(overrides), "m-pwd");
  EXPECT_EQ(d.effective_ice_options(overrides), std::vector<std::string>{"ice2"});
  EXPECT_EQ(d.effective_fingerprint(overrides)->value, "BB:BB");
  EXPECT_EQ(d.effective_setup(overrides), SetupRole::Passive);

  EXPECT_FALSE(SessionDescription{}.effective_ufrag(inherits));
  EXPECT_FALSE(SessionDescription{}.effective_setup(inherits));
}

TEST(Sdp, BundledSectionsInheritTheTaggedSectionsTransport) {
  // RFC 8843: a bundle-only section (port 0) may carry no transport attributes of its own.
  SessionDescription d;
  d.setup = SetupRole::ActPass;
  d.bundle_groups = {{"0", "1"}};
  d.media.resize(3);
  d.media[0].mid = "0";
  d.media[0].ice_ufrag = "tag-ufrag";
  d.media[0].ice_pwd = "tag-pwd";
  d.media[0].fingerprint = Fingerprint{"sha-256", "CC:CC"};
  d.media[0].ice_options = {"trickle"};
  d.media[1].mid = "1";
  d.media[1].port = 0;
  d.media[1].bundle_only = true;
  d.media[2].mid = "2"; // not bundled
  EXPECT_EQ(d.bundle_tag_of(d.media[1]), &d.media[0]);
  EXPECT_EQ(d.bundle_tag_of(d.media[0]), &d.media[0]);
  EXPECT_EQ(d.bundle_tag_of(d.media[2]), nullptr);
  EXPECT_EQ(d.effective_ufrag(d.media[1]), "tag-ufrag");
  EXPECT_EQ(d.effective_pwd(d.media[1]), "tag-pwd");
  EXPECT_EQ(d.effective_fingerprint(d.media[1])->value, "CC:CC");
  EXPECT_EQ(d.effective_ice_options(d.media[1]), std::vector<std::string>{"trickle"});
  EXPECT_EQ(d.effective_setup(d.media[1]), SetupRole::ActPass); // tag has none: session level
  EXPECT_FALSE(d.effective_ufrag(d.media[2]));
  EXPECT_FALSE(d.media[1].is_rejected());
  d.media[1].bundle_only = false;
  EXPECT_TRUE(d.media[1].is_rejected());
}

TEST(Sdp, FindsMediaAndBundleGroupByMid) {
  SessionDescription d;
  d.media.resize(3);
  d.media[0].mid = "0";
  d.media[1].mid = "data";
  d.bundle_groups = {{"0", "data"}};
  EXPECT_EQ(d.find_media("data"), &d.media[1]);
  EXPECT_EQ(std::as_const(d).find_media("0"), &d.media[0]);
  EXPECT_EQ(d.find_media("nope"), nullptr);
  EXPECT_EQ(d.find_media(""), nullptr); // a section without a=mid is not found by ""
  EXPECT_EQ(d.bundle_group_of("data"), &d.bundle_groups[0]);
  EXPECT_EQ(d.bundle_group_of("1"), nullptr);
}

TEST(Sdp, RejectedSectionKeepsKindProtocolAndMid) {
  MediaSection video;
  video.kind = "video";
  video.port = 9;
  video.protocol = "UDP/TLS/RTP/SAVPF";
  video.formats = {"96", "97"};
  video.mid = "1";
  video.ice_ufrag = "x";
  video.rtcp_mux = true;
  video.other_attributes = {"rtpmap:96 VP8/90000"};
  const auto r = make_rejected_section(video);
  EXPECT_TRUE(r.is_rejected());
  EXPECT_EQ(r.kind, "video");
  EXPECT_EQ(r.protocol, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(r.formats, std::vector<std::string>{"96"});
  EXPECT_EQ(r.mid, "1");
  EXPECT_EQ(r.direction, "inactive");
  EXPECT_FALSE(r.ice_ufrag);
  EXPECT_FALSE(r.rtcp_mux);
  EXPECT_TRUE(r.other_attributes.empty());

  MediaSection bare;
  bare.kind = "audio";
  EXPECT_EQ(make_rejected_section(bare).formats, std::vector<std::string>{"0"});
}

TEST(Sdp, RecognisesDataChannelSections) {
  MediaSection m;
  m.kind = "application";
  for (const char* proto : {"UDP/DTLS/SCTP", "TCP/DTLS/SCTP", "DTLS/SCTP"}) {
    m.protocol = proto;
    EXPECT_TRUE(m.is_data_channel()) << proto;
  }
  m.protocol = "RTP/AVP";
  EXPECT_FALSE(m.is_data_channel());
  m.kind = "audio";
  m.protocol = "UDP/DTLS/SCTP";
  EXPECT_FALSE(m.is_data_channel());
}

TEST(Sdp, SctpDefaultsFollowRfc8841) {
  MediaSection m;
  EXPECT_EQ(m.sctp_port_or_default(), 5000);
  EXPECT_EQ(m.max_message_size_or_default(), 65536u);
  m.sctp_port = 5001;
  m.max_message_size = 0; // "no limit" is a value, not absence
  EXPECT_EQ(m.sctp_port_or_default(), 5001);
  EXPECT_EQ(m.max_message_size_or_default(), 0u);
}

TEST(Sdp, SetupRoleNames) {
  for (auto role :
       {SetupRole::ActPass, SetupRole::Active, SetupRole::Passive, SetupRole::HoldConn}) {
    EXPECT_EQ(parse_setup_role(to_string(role)), role);
  }
  EXPECT_EQ(to_string(SetupRole::ActPass), "actpass");
  EXPECT_EQ(to_string(SetupRole::HoldConn), "holdconn");
  EXPECT_FALSE(parse_setup_role("ACTIVE"));
  EXPECT_FALSE(parse_setup_role(""));
}

TEST(RtcErrc, AllSdpErrorsAreProtocolViolations) {
  for (auto e : {Errc::MalformedSdp, Errc::SdpTooLarge, Errc::TooManyMediaSections,
                 Errc::TooManyCandidates}) {
    const error_code ec = e;
    EXPECT_EQ(ec, Condition::ProtocolViolation);
    EXPECT_STREQ(ec.category().name(), "posthorn.rtc");
    EXPECT_FALSE(ec.message().empty());
  }
}

} // namespace
} // namespace posthorn::rtc
