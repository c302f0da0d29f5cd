// `posthorn demo --browser`: the demo page (web/, real Trystero) in headless Chromium joins the
// three native peers as a fourth, chats, receives a file, pings and leaves. An interop test: it
// runs a browser, so it stays out of the sanitizer pass and gets the interop retries.
#include "tools/child_process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

namespace posthorn {
namespace {

using namespace std::chrono_literals;

TEST(Demo, BrowserPeerJoinsChatsReceivesAFileAndLeaves) {
  const auto web = std::filesystem::path(POSTHORN_TEST_DATA_DIR) / ".." / ".." / "web";
  if (!std::filesystem::exists("/usr/bin/chromium"))
    GTEST_SKIP() << "/usr/bin/chromium is not installed (scripts/setup.sh)";
  if (!std::filesystem::exists(web / "dist" / "app.js") ||
      !std::filesystem::exists(web / "node_modules" / "playwright-core"))
    GTEST_SKIP() << "web/dist is not built (scripts/setup.sh: npm ci and node build.mjs in web/)";
  tools::ChildProcess demo({POSTHORN_BINARY, "demo", "--browser", "--bytes", "4194304",
                            "--browser-bytes", "2097152", "--web-dir", web.string()});
  std::string output;
  while (auto line = demo.read_line(180s))
    output += *line + "\n";
  EXPECT_EQ(demo.wait(10s), 0) << output;
  EXPECT_NE(output.find("demo: everything checked out"), std::string::npos) << output;
  EXPECT_EQ(output.find("✗"), std::string::npos) << output;
  for (const char* line :
       {"every peer sees the other three", "✓ alice → dave", "✓ dave → alice", "✓ dave → bob",
        "✓ dave → carol", "4b. file: 2 MiB alice → dave", "✓ dave: 2097152 bytes in",
        "(hashed in the page)", "alice, bob and dave saw her go", "✓ dave left"})
    EXPECT_NE(output.find(line), std::string::npos) << line << "\n" << output;
  // dave has a row in the ping table: a round trip to each of the three natives, a dash for
  // himself.
  const auto row = output.find("\n   dave ", output.find("5. ping"));
  ASSERT_NE(row, std::string::npos) << output;
  const auto dave_row = output.substr(row + 1, output.find('\n', row + 1) - row - 1);
  EXPECT_NE(dave_row.find("—"), std::string::npos) << dave_row;
  EXPECT_EQ(std::count(dave_row.begin(), dave_row.end(), '.'), 3) << dave_row;
}

} // namespace
} // namespace posthorn
