// `posthorn demo`, the README's first command, end to end (with a smaller file): an embedded
// relay, three peer processes, chat, a file, pings, a request round and leaving. The browser
// variant is an interop test (tests/interop/demo_browser_test.cpp).
#include "tools/child_process.hpp"

#include <gtest/gtest.h>

#include <string>

namespace posthorn {
namespace {

using namespace std::chrono_literals;

TEST(Demo, EverythingChecksOut) {
  tools::ChildProcess demo({POSTHORN_BINARY, "demo", "--bytes", "16777216"});
  std::string output;
  while (auto line = demo.read_line(120s))
    output += *line + "\n";
  EXPECT_EQ(demo.wait(10s), 0) << output;
  EXPECT_NE(output.find("demo: everything checked out"), std::string::npos) << output;
  EXPECT_EQ(output.find("✗"), std::string::npos) << output;
  for (const char* step : {"1. relay", "2. join", "3. chat", "4. file", "5. ping",
                           "6. request/response", "7. leave", "summary:"})
    EXPECT_NE(output.find(step), std::string::npos) << step;
}

} // namespace
} // namespace posthorn
