// The log facade: "{}" placeholders take the parts in order, other parts are concatenated, and
// redact() hides personal data unless redaction is switched off.
#include "core/log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace posthorn {
namespace {

struct CapturedLog {
  CapturedLog() {
    set_log_level(LogLevel::Trace);
    set_log_sink(
        [this](LogLevel, std::string_view, std::string_view text) { lines.emplace_back(text); });
  }
  ~CapturedLog() {
    set_log_sink(nullptr);
    set_log_level(LogLevel::Warn);
    set_log_redaction(true);
  }
  std::vector<std::string> lines;
};

TEST(Log, PlaceholdersTakeThePartsInOrder) {
  CapturedLog log;
  POSTHORN_LOG(Debug, "test", "sent {} bytes to {}", 42, "peer");
  ASSERT_EQ(log.lines.size(), 1u);
  EXPECT_EQ(log.lines[0], "sent 42 bytes to peer");
}

TEST(Log, PartsWithoutPlaceholdersAreConcatenatedAndExtrasAppended) {
  CapturedLog log;
  POSTHORN_LOG(Info, "test", "pair succeeded: ", 7, " ms");
  POSTHORN_LOG(Info, "test", "{} of {}", 1, 2, " (more)");
  POSTHORN_LOG(Info, "test", "{} {} {}", "only one");
  ASSERT_EQ(log.lines.size(), 3u);
  EXPECT_EQ(log.lines[0], "pair succeeded: 7 ms");
  EXPECT_EQ(log.lines[1], "1 of 2 (more)");
  EXPECT_EQ(log.lines[2], "only one {} {}");
}

TEST(Log, RedactedPartsHideTheirText) {
  CapturedLog log;
  POSTHORN_LOG(Debug, "test", "peer {} left", redact("abcdef"));
  set_log_redaction(false);
  POSTHORN_LOG(Debug, "test", "peer {} left", redact("abcdef"));
  ASSERT_EQ(log.lines.size(), 2u);
  EXPECT_EQ(log.lines[0], "peer <redacted:6> left");
  EXPECT_EQ(log.lines[1], "peer abcdef left");
}

TEST(Log, DisabledLevelsDoNotEvaluateTheirParts) {
  CapturedLog log;
  set_log_level(LogLevel::Warn);
  int evaluated = 0;
  POSTHORN_LOG(Debug, "test", "x", ++evaluated);
  EXPECT_EQ(evaluated, 0);
  EXPECT_TRUE(log.lines.empty());
}

} // namespace
} // namespace posthorn
