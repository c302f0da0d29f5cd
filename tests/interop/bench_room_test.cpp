// `posthorn bench room --vs trystero` end to end with tiny workloads: every pair (posthorn and real
// Trystero in Node, both mixed directions) joins, moves its actions and bulk payload, and the JSON
// line carries every figure. Timings are printed by the benchmark, never asserted here.
#include "tools/child_process.hpp"
#include "tools/mosquitto_broker.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>

namespace posthorn {
namespace {

using namespace std::chrono_literals;

TEST(BenchRoom, EveryPairMeasuresJoinActionsAndBulkAgainstTrystero) {
  if (!tools::MosquittoBroker::available()) GTEST_SKIP() << "mosquitto is not installed";
  const auto js = std::filesystem::path(POSTHORN_INTEROP_JS_DIR);
  if (!std::filesystem::exists(js / "node_modules" / "@trystero-p2p" / "mqtt"))
    GTEST_SKIP() << "npm packages missing: run scripts/setup-node.sh";

  tools::ChildProcess bench({POSTHORN_BINARY, "bench", "room", "--vs", "trystero", "--json",
                             "--join-runs", "3", "--messages", "300", "--bulk-bytes", "300000",
                             "--script",
                             (js / ".." / ".." / ".." / "bench" / "js" / "trystero-room-bench.mjs")
                                 .lexically_normal()
                                 .string()});
  std::string last;
  while (auto line = bench.read_line(180s))
    last = *line;
  auto status = bench.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << last;
  auto j = nlohmann::json::parse(last, nullptr, false);
  ASSERT_TRUE(j.is_object()) << last;
  for (const char* pair :
       {"posthorn", "trystero", "trystero_to_posthorn", "posthorn_to_trystero"}) {
    SCOPED_TRACE(pair);
    const std::string p = pair;
    EXPECT_EQ(j.value(p + "_failures", -1), 0);
    EXPECT_GT(j.value(p + "_join_ms_p50", 0.0), 0.0);
    EXPECT_GT(j.value(p + "_join_cold_ms", 0.0), 0.0);
    EXPECT_GT(j.value(p + "_msgs_per_s_1000b", 0.0), 0.0);
    EXPECT_GT(j.value(p + "_bulk_mb_per_s", 0.0), 0.0);
  }
  EXPECT_GT(j.value("ratio_msgs_vs_trystero", 0.0), 0.0);
  EXPECT_GT(j.value("ratio_bulk_vs_trystero", 0.0), 0.0);
}

} // namespace
} // namespace posthorn
