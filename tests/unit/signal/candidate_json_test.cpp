#include "signal/candidate_json.hpp"

#include "signal/errc.hpp"

#include <gtest/gtest.h>

namespace posthorn::signal {
namespace {

constexpr std::string_view kBrowser =
    R"({"candidate":"candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"})";

TEST(CandidateJson, ParsesTheBrowserForm) {
  const auto c = parse_candidate_json(kBrowser).value();
  EXPECT_EQ(c.candidate, "candidate:1 1 udp 2122260223 192.168.1.2 54321 typ host");
  EXPECT_EQ(c.sdp_mid, "0");
  EXPECT_EQ(c.sdp_mline_index, 0);
  EXPECT_EQ(c.username_fragment, "abcd");
}

TEST(CandidateJson, WritesTheBrowserFormExactly) {
  // The TV6 plaintext.
  EXPECT_EQ(to_json(parse_candidate_json(kBrowser).value()), kBrowser);
}

TEST(CandidateJson, AcceptsTheNodeDatachannelForm) {
  // §6.3: observed from JS peers on node-datachannel.
  const auto c =
      parse_candidate_json(
          R"({"candidate":"a=candidate:2 1 UDP 2122317823 10.0.0.5 40000 typ host","sdpMLineIndex":null,"sdpMid":"0","usernameFragment":null})")
          .value();
  EXPECT_EQ(c.candidate, "candidate:2 1 UDP 2122317823 10.0.0.5 40000 typ host");
  EXPECT_EQ(c.sdp_mid, "0");
  EXPECT_FALSE(c.sdp_mline_index);
  EXPECT_FALSE(c.username_fragment);
  EXPECT_EQ(
      to_json(c),
      R"({"candidate":"candidate:2 1 UDP 2122317823 10.0.0.5 40000 typ host","sdpMid":"0","sdpMLineIndex":null,"usernameFragment":null})");
}

TEST(CandidateJson, EmptyCandidateIsTheEndOfCandidatesMarker) {
  const auto c = parse_candidate_json(R"({"candidate":"","sdpMid":"0","sdpMLineIndex":0})").value();
  EXPECT_TRUE(c.candidate.empty());
  EXPECT_FALSE(c.username_fragment);
  EXPECT_TRUE(parse_candidate_json("{}").value().candidate.empty());
  EXPECT_TRUE(parse_candidate_json(R"({"candidate":null})").value().candidate.empty());
}

TEST(CandidateJson, IgnoresUnknownFields) {
  EXPECT_EQ(parse_candidate_json(R"({"candidate":"candidate:x","foo":[1,{}],"sdpMid":"1"})")
                .value()
                .sdp_mid,
            "1");
}

TEST(CandidateJson, RejectsWrongTypes) {
  for (std::string_view bad : {
           R"([])",
           R"("candidate:1")",
           R"({"candidate":1})",
           R"({"candidate":"c","sdpMid":0})",
           R"({"candidate":"c","sdpMLineIndex":"0"})",
           R"({"candidate":"c","sdpMLineIndex":-1})",
           R"({"candidate":"c","sdpMLineIndex":0.5})",
           R"({"candidate":"c","sdpMLineIndex":65536})",
           R"({"candidate":"c","sdpMLineIndex":18446744073709551615})",
           R"({"candidate":"c","usernameFragment":false})",
           R"({"candidate":"c")",
           "",
       }) {
    const auto r = parse_candidate_json(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), Errc::MalformedCandidate) << bad;
  }
}

TEST(CandidateJson, AcceptsTheLargestMLineIndex) {
  EXPECT_EQ(
      parse_candidate_json(R"({"candidate":"c","sdpMLineIndex":65535})").value().sdp_mline_index,
      65535);
}

TEST(CandidateJson, RepeatedPrefixesAreAllStrippedSoRoundTripsAreStable) {
  const auto c = parse_candidate_json(R"({"candidate":"a=a=candidate:1"})").value();
  EXPECT_EQ(c.candidate, "candidate:1");
  EXPECT_EQ(parse_candidate_json(to_json(c)).value(), c);
}

} // namespace
} // namespace posthorn::signal
