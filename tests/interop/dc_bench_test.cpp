// `posthorn bench dc --vs libdatachannel,libwebrtc` end to end with tiny workloads, and the Node
// peer it measures the anchors with (tests/interop/js/dc-peer.mjs) wired to `posthorn dc`: the
// JSON-lines contract (docs/cli-dc.md) holds across stacks. Timings are printed by the
// benchmark, never asserted here.
#include "tools/child_process.hpp"
#include "tools/dc_pair.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace posthorn {
namespace {

using namespace std::chrono_literals;
using tools::DcEvent;
using tools::DcPair;
using tools::Side;

const std::filesystem::path kJs = POSTHORN_INTEROP_JS_DIR;

bool node_stacks_installed() {
  return std::filesystem::exists(kJs / "node_modules" / "node-datachannel") &&
         std::filesystem::exists(kJs / "node_modules" / "@roamhq" / "wrtc") &&
         std::system("node --version > /dev/null 2>&1") == 0;
}

std::vector<std::string> node_peer(const std::string& impl, const tools::DcPeerArgs& a) {
  std::vector<std::string> argv = {"/usr/bin/env",
                                   "node",
                                   (kJs / "dc-peer.mjs").string(),
                                   "--impl",
                                   impl,
                                   "--role",
                                   a.role,
                                   "--mode",
                                   a.mode,
                                   "--bytes",
                                   std::to_string(a.bytes),
                                   "--message-size",
                                   std::to_string(a.message_size),
                                   "--bind",
                                   "127.0.0.1"};
  if (a.quiet) argv.push_back("--quiet");
  return argv;
}

// 4 MiB bulk runs: CPU time comes from /proc in 10 ms ticks, and every process must show some.
TEST(BenchDc, VsLibdatachannelAndLibwebrtcReportsEveryFigure) {
  if (!node_stacks_installed()) GTEST_SKIP() << "node or the npm packages are missing";
  tools::ChildProcess bench({POSTHORN_BINARY, "bench", "dc", "--vs", "libdatachannel,libwebrtc",
                             "--json", "--bytes", "4194304", "--small-bytes", "262144",
                             "--setup-runs", "2", "--connections", "4", "--js-dir", kJs.string()});
  std::string last;
  while (auto line = bench.read_line(300s))
    last = *line;
  auto status = bench.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << last;
  auto j = nlohmann::json::parse(last, nullptr, false);
  ASSERT_TRUE(j.is_object()) << last;

  const std::vector<std::string> figures = {
      "setup_ms_p50",       "setup_ms_p90",       "setup_ms_max",
      "bulk_mb_per_s_64k",  "bulk_mb_per_s_16k",  "msgs_per_s_1k",
      "cpu_ms_per_mb_send", "cpu_ms_per_mb_recv", "rss_kib_per_conn"};
  for (const std::string prefix :
       {"", "libdatachannel_", "libwebrtc_", "posthorn_to_libwebrtc_", "libwebrtc_to_posthorn_"}) {
    SCOPED_TRACE(prefix.empty() ? "posthorn" : prefix);
    EXPECT_TRUE(j.value(prefix + "intact", false)) << "sha256 differed";
    if (!prefix.empty()) {
      EXPECT_EQ(j.value(prefix + "failures", -1), 0);
    }
    for (const auto& f : figures) {
      // The mixed pairs have no memory figure: it is per stack, not per pair.
      if (f == "rss_kib_per_conn" && prefix.find("_to_") != std::string::npos) continue;
      ASSERT_TRUE(j.contains(prefix + f)) << prefix + f;
      EXPECT_GT(j[prefix + f].get<double>(), 0.0) << prefix + f;
    }
  }
  for (const std::string anchor : {"libdatachannel", "libwebrtc"}) {
    for (const std::string ratio : {"ratio_bulk_vs_", "ratio_bulk_16k_vs_", "ratio_msgs_vs_",
                                    "ratio_setup_vs_", "ratio_cpu_vs_", "ratio_rss_vs_"}) {
      ASSERT_TRUE(j.contains(ratio + anchor)) << ratio + anchor;
      EXPECT_GT(j[ratio + anchor].get<double>(), 0.0) << ratio + anchor;
    }
  }
}

// A 1 MiB transfer each way between `posthorn dc` and a Node peer: both ends report the same
// number of bytes and the same SHA-256.
void transfer_intact(const std::vector<std::string>& source_argv,
                     const std::vector<std::string>& sink_argv) {
  DcPair pair(source_argv, sink_argv);
  std::string sent, received;
  std::vector<std::string> errors;
  pair.run_until(
      [&](const DcEvent& e) {
        if (e.type == "error") errors.push_back(e.line);
        if (e.type == "done" && e.side == Side::Offerer) sent = e.sha256;
        if (e.type == "done" && e.side == Side::Answerer) {
          received = e.sha256;
          EXPECT_EQ(e.bytes, 1u << 20);
        }
        return !sent.empty() && !received.empty();
      },
      60s);
  EXPECT_TRUE(errors.empty()) << errors.front();
  ASSERT_FALSE(received.empty()) << "the sink never reported done";
  EXPECT_EQ(sent, received);
}

tools::DcPeerArgs source() {
  return {"offer", "source", 1u << 20, 16 * 1024, true};
}
tools::DcPeerArgs sink() {
  return {"answer", "sink", 1u << 20, 16 * 1024, true};
}

TEST(DcPeerJs, PosthornSendsToLibwebrtcIntact) {
  if (!node_stacks_installed()) GTEST_SKIP() << "node or the npm packages are missing";
  transfer_intact(tools::dc_command(POSTHORN_BINARY, source()), node_peer("wrtc", sink()));
}

TEST(DcPeerJs, LibdatachannelSendsToPosthornIntact) {
  if (!node_stacks_installed()) GTEST_SKIP() << "node or the npm packages are missing";
  transfer_intact(node_peer("node-datachannel", source()),
                  tools::dc_command(POSTHORN_BINARY, sink()));
}

// The stdin commands of the contract on the Node peer, against posthorn: a text message sent
// with {"type":"send"} arrives at posthorn (a sink that prints messages); one sent by posthorn
// arrives at the Node peer (echo mode: printed and echoed); {"type":"close"} closes the channel
// and both sides report `closed`.
TEST(DcPeerJs, SendAndCloseCommandsAgainstPosthorn) {
  if (!node_stacks_installed()) GTEST_SKIP() << "node or the npm packages are missing";
  DcPair pair(node_peer("node-datachannel", {"offer", "echo", 0, 1024, false}),
              tools::dc_command(POSTHORN_BINARY, {"answer", "sink", 10, 1024, false}));
  int open = 0;
  ASSERT_TRUE(
      pair.run_until([&](const DcEvent& e) { return e.type == "open" && ++open == 2; }, 30s));
  auto text_message = [&](Side side, const std::string& text) {
    return pair.run_until(
        [&](const DcEvent& e) {
          if (e.type != "message" || e.side != side) return false;
          auto j = nlohmann::json::parse(e.line);
          return j.value("data", std::string()) == text && !j.value("binary", true);
        },
        30s);
  };
  pair.process(Side::Offerer).write_line(R"({"type":"send","data":"hello"})");
  EXPECT_TRUE(text_message(Side::Answerer, "hello")) << "posthorn did not get the Node peer's text";
  pair.process(Side::Answerer).write_line(R"({"type":"send","data":"world"})");
  EXPECT_TRUE(text_message(Side::Offerer, "world")) << "the Node peer did not get posthorn's text";
  // The Node peer echoed "world": posthorn's sink now has its 10 bytes.
  auto done = pair.run_until(
      [](const DcEvent& e) { return e.type == "done" && e.side == Side::Answerer; }, 30s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->bytes, 10u);

  pair.process(Side::Offerer).write_line(R"({"type":"close"})");
  int closed = 0;
  EXPECT_TRUE(
      pair.run_until([&](const DcEvent& e) { return e.type == "closed" && ++closed == 2; }, 30s))
      << "both sides should report closed";
}

} // namespace
} // namespace posthorn
