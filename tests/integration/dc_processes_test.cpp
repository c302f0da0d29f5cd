// Two real `posthorn dc` processes on loopback UDP sockets, wired by their JSON-lines signaling.
#include "tools/dc_pair.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <csignal>

namespace posthorn::tools {
namespace {

using namespace std::chrono;

std::vector<std::string> dc(const std::string& role, const std::string& mode,
                            std::uint64_t bytes = 0, bool quiet = true) {
  return dc_command(POSTHORN_BINARY, {role, mode, bytes, 64 * 1024, quiet});
}

bool open_both(DcPair& pair) {
  int open = 0;
  return pair
      .run_until(
          [&](const DcEvent& e) {
            EXPECT_NE(e.type, "error") << e.line;
            return e.type == "open" && ++open == 2;
          },
          seconds(30))
      .has_value();
}

// Runs a source/sink transfer and returns {sender sha256, receiver sha256}.
std::pair<std::string, std::string> transfer(DcPair& pair, Side source) {
  std::string sent, received;
  pair.run_until(
      [&](const DcEvent& e) {
        EXPECT_NE(e.type, "error") << e.line;
        if (e.type == "done") (e.side == source ? sent : received) = e.sha256;
        return !sent.empty() && !received.empty();
      },
      seconds(600));
  return {sent, received};
}

TEST(DcProcesses, Move256MiBFromOffererToAnswererIntact) {
  constexpr std::uint64_t kBytes = 256ull << 20;
  DcPair pair(dc("offer", "source", kBytes), dc("answer", "sink", kBytes));
  auto [sent, received] = transfer(pair, Side::Offerer);
  EXPECT_EQ(sent.size(), 64u);
  EXPECT_EQ(sent, received);
}

TEST(DcProcesses, Move256MiBFromAnswererToOffererIntact) {
  constexpr std::uint64_t kBytes = 256ull << 20;
  DcPair pair(dc("offer", "sink", kBytes), dc("answer", "source", kBytes));
  auto [sent, received] = transfer(pair, Side::Answerer);
  EXPECT_EQ(sent.size(), 64u);
  EXPECT_EQ(sent, received);
}

TEST(DcProcesses, EchoReturnsTextAndBinaryWithTheirKind) {
  DcPair pair(dc("offer", "echo", 0, false), dc("answer", "sink", 0, false));
  ASSERT_TRUE(open_both(pair));
  pair.process(Side::Answerer).write_line(R"({"type":"send","data":"héllo"})");
  auto text = pair.run_until(
      [](const DcEvent& e) { return e.type == "message" && e.side == Side::Answerer; },
      seconds(10));
  ASSERT_TRUE(text);
  auto j = nlohmann::json::parse(text->line);
  EXPECT_EQ(j["data"], "héllo");
  EXPECT_EQ(j["binary"], false);
  EXPECT_EQ(j["bytes"], 6);

  pair.process(Side::Answerer).write_line(R"({"type":"send","data":"AAEC/w==","binary":true})");
  auto binary = pair.run_until(
      [](const DcEvent& e) { return e.type == "message" && e.side == Side::Answerer; },
      seconds(10));
  ASSERT_TRUE(binary);
  j = nlohmann::json::parse(binary->line);
  EXPECT_EQ(j["binary"], true);
  EXPECT_EQ(j["bytes"], 4);
}

TEST(DcProcesses, ChannelCloseIsReportedByBothSides) {
  DcPair pair(dc("offer", "echo"), dc("answer", "echo"));
  ASSERT_TRUE(open_both(pair));
  pair.process(Side::Offerer).write_line(R"({"type":"close"})");
  int closed = 0;
  EXPECT_TRUE(pair.run_until([&](const DcEvent& e) { return e.type == "closed" && ++closed == 2; },
                             seconds(10)));
  EXPECT_EQ(pair.process(Side::Offerer).wait(seconds(5)), 0);
  EXPECT_EQ(pair.process(Side::Answerer).wait(seconds(5)), 0);
}

TEST(DcProcesses, MalformedSignalingIsReportedAndIgnored) {
  DcPair pair(dc("offer", "echo"), dc("answer", "echo"));
  pair.process(Side::Answerer).write_line("this is not json");
  pair.process(Side::Answerer).write_line(R"({"type":"answer","sdp":"v=0 garbage"})");
  pair.process(Side::Answerer).write_line(R"({"type":"candidate","candidate":"candidate:x"})");
  int errors = 0;
  pair.run_until([&](const DcEvent& e) { return e.type == "error" && ++errors == 3; }, seconds(10));
  EXPECT_EQ(errors, 3);
  EXPECT_TRUE(open_both(pair)) << "the peer kept running and still connects";
}

TEST(DcProcesses, AVanishedPeerIsDetectedWithinTheConsentBound) {
  DcPair pair(dc("offer", "echo"), dc("answer", "echo"));
  ASSERT_TRUE(open_both(pair));
  const auto killed = steady_clock::now();
  pair.process(Side::Answerer).kill(); // no close_notify, no SCTP ABORT: just silence
  auto closed = pair.run_until(
      [](const DcEvent& e) {
        return e.side == Side::Offerer && (e.type == "closed" || e.type == "error");
      },
      seconds(45));
  ASSERT_TRUE(closed);
  EXPECT_LE(steady_clock::now() - killed, seconds(32)) << "RFC 7675: 30 s consent timeout";
}

} // namespace
} // namespace posthorn::tools
