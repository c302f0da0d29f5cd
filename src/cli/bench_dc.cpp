// `posthorn bench dc [--vs libdatachannel,libwebrtc]`: data-channel figures between two posthorn
// processes on loopback and, with --vs, the same workloads in the same run on the anchors:
// libdatachannel (node-datachannel) and libwebrtc (@roamhq/wrtc) pairs of Node peers speaking
// the same JSON-lines contract (tests/interop/js/dc-peer.mjs), and the mixed pairs
// posthorn ↔ libwebrtc. Prints a table with the ratios posthorn / anchor and a final JSON line
// (keys documented in docs/benchmarks.md).
#include "cli/bench_dc_measure.hpp"
#include "cli/bench_rss.hpp"
#include "cli/commands.hpp"
#include "tools/child_process.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#ifndef POSTHORN_SOURCE_DIR
#define POSTHORN_SOURCE_DIR "."
#endif

namespace posthorn::cli {
namespace {

using namespace std::chrono;

struct BenchOptions {
  std::uint64_t bulk_bytes = 256ull << 20;
  std::uint64_t small_bytes = 32ull << 20;
  int setup_runs = 20;
  int connections = 100;
  bool json_only = false;
  std::vector<std::string> vs;
  std::string js_dir = std::string(POSTHORN_SOURCE_DIR) + "/tests/interop/js";
  std::string node;
};

// The anchors: name in --vs and in the JSON keys -> dc-peer.mjs --impl.
const std::map<std::string, std::string> kAnchors = {
    {"libdatachannel", "node-datachannel"},
    {"libwebrtc", "wrtc"},
};

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    auto candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

DcPeerCommand posthorn_peer() {
  return [](const tools::DcPeerArgs& a) { return tools::dc_command(tools::self_executable(), a); };
}

DcPeerCommand node_peer(const BenchOptions& o, const std::string& impl) {
  return [node = o.node, script = o.js_dir + "/dc-peer.mjs", impl](const tools::DcPeerArgs& a) {
    std::vector<std::string> argv = {node,
                                     script,
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
  };
}

/// Memory per connection of a Node stack: dc-rss.mjs opens the connections in one Node process
/// and reports the RSS they added over Node's baseline (runtime, stack, one warm-up pair).
double node_rss_kib_per_connection(const BenchOptions& o, const std::string& impl) {
  tools::ChildProcess child({o.node, "--expose-gc", o.js_dir + "/dc-rss.mjs", "--impl", impl,
                             "--connections", std::to_string(o.connections)});
  const auto deadline = steady_clock::now() + seconds(300);
  for (;;) {
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    auto line = left.count() > 0 ? child.read_line(left) : std::nullopt;
    if (!line) throw std::runtime_error("memory run (" + impl + "): no result");
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (!j.is_object()) continue;
    const auto type = j.value("type", std::string());
    if (type == "error") throw std::runtime_error("memory run: " + j.value("error", std::string()));
    if (type == "rss") {
      child.wait(seconds(5));
      return j.value("rss_kib_per_conn", 0.0);
    }
  }
}

/// One pair's figures; nullopt where the measurement failed (the reason is in `failures`).
struct PairFigures {
  std::string key;   // JSON prefix: "" for posthorn, "libdatachannel_", ...
  std::string label; // column header
  std::vector<double> setups;
  std::optional<BulkResult> bulk64, bulk16, small;
  std::optional<double> rss;
  std::vector<std::string> failures;
};

struct PairPlan {
  std::string key, label;
  DcPairSpec spec;
  std::function<double()> rss; // empty: no memory figure (mixed pairs)
};

template <class F> auto attempt(PairFigures& f, const std::string& what, F&& fn) {
  std::optional<decltype(fn())> r;
  try {
    r = fn();
  } catch (const std::exception& e) {
    f.failures.push_back(what + ": " + e.what());
  }
  return r;
}

PairFigures measure_pair(const BenchOptions& o, const PairPlan& plan) {
  auto say = [&](const char* fmt, auto... args) {
    if (!o.json_only) std::fprintf(stderr, fmt, args...);
  };
  PairFigures f{plan.key, plan.label, {}, {}, {}, {}, {}, {}};
  say("%s:\n", plan.label.c_str());
  for (int i = 0; i < o.setup_runs; ++i) {
    if (auto ms = attempt(f, "setup", [&] { return measure_setup_ms(plan.spec); }))
      f.setups.push_back(*ms);
  }
  if (!f.setups.empty())
    say("  setup (offer to both open), %zu runs: p50 %.2f ms, p90 %.2f ms, max %.2f ms\n",
        f.setups.size(), percentile(f.setups, 0.5), percentile(f.setups, 0.9),
        *std::max_element(f.setups.begin(), f.setups.end()));
  auto bulk = [&](std::uint64_t bytes, std::size_t size, const char* what) {
    auto r = attempt(f, what, [&] { return measure_bulk(plan.spec, bytes, size); });
    if (r && !r->intact) f.failures.push_back(std::string(what) + ": sha256 mismatch");
    if (r)
      say("  %s: %.1f MB/s, %.0f msgs/s, CPU %.2f ms/MB send, %.2f ms/MB recv, %s\n", what,
          r->mb_per_s, r->msgs_per_s, r->cpu_ms_per_mb_send, r->cpu_ms_per_mb_recv,
          r->intact ? "sha256 ok" : "SHA256 MISMATCH");
    return r;
  };
  f.bulk64 = bulk(o.bulk_bytes, 64 * 1024, "bulk 64 KiB messages");
  f.bulk16 = bulk(o.bulk_bytes, 16 * 1024, "bulk 16 KiB messages");
  f.small = bulk(o.small_bytes, 1024, "1 KiB messages");
  if (plan.rss) {
    f.rss = attempt(f, "memory", plan.rss);
    if (f.rss) say("  memory: %.0f KiB RSS per connection, %d open\n", *f.rss, o.connections);
  }
  for (const auto& why : f.failures)
    say("  FAILED %s\n", why.c_str());
  return f;
}

void add_keys(nlohmann::json& j, const PairFigures& f) {
  const auto& k = f.key;
  if (!f.setups.empty()) {
    j[k + "setup_ms_p50"] = percentile(f.setups, 0.5);
    j[k + "setup_ms_p90"] = percentile(f.setups, 0.9);
    j[k + "setup_ms_max"] = *std::max_element(f.setups.begin(), f.setups.end());
  }
  if (f.bulk64) {
    j[k + "bulk_mb_per_s_64k"] = f.bulk64->mb_per_s;
    j[k + "cpu_ms_per_mb_send"] = f.bulk64->cpu_ms_per_mb_send;
    j[k + "cpu_ms_per_mb_recv"] = f.bulk64->cpu_ms_per_mb_recv;
  }
  if (f.bulk16) j[k + "bulk_mb_per_s_16k"] = f.bulk16->mb_per_s;
  if (f.small) j[k + "msgs_per_s_1k"] = f.small->msgs_per_s;
  if (f.rss) j[k + "rss_kib_per_conn"] = *f.rss;
  j[k + "intact"] = (!f.bulk64 || f.bulk64->intact) && (!f.bulk16 || f.bulk16->intact) &&
                    (!f.small || f.small->intact);
  if (!k.empty()) j[k + "failures"] = f.failures.size();
}

/// The figures compared in the table: JSON key (unprefixed), label, printf format, and whether
/// higher is better.
struct Row {
  const char* key;
  const char* label;
  const char* format;
  bool higher_is_better;
};
constexpr Row kRows[] = {
    {"bulk_mb_per_s_64k", "bulk 64 KiB msgs, MB/s", "%.1f", true},
    {"bulk_mb_per_s_16k", "bulk 16 KiB msgs, MB/s", "%.1f", true},
    {"msgs_per_s_1k", "1 KiB messages/s", "%.0f", true},
    {"setup_ms_p50", "setup p50, ms", "%.2f", false},
    {"setup_ms_p90", "setup p90, ms", "%.2f", false},
    {"cpu_ms_per_mb", "CPU ms/MB (send+recv)", "%.2f", false},
    {"rss_kib_per_conn", "memory KiB/connection", "%.0f", false},
};

std::optional<double> figure(const nlohmann::json& j, const std::string& prefix,
                             const std::string& key) {
  if (key == "cpu_ms_per_mb") {
    const auto s = prefix + "cpu_ms_per_mb_send", r = prefix + "cpu_ms_per_mb_recv";
    if (!j.contains(s) || !j.contains(r)) return std::nullopt;
    return j[s].get<double>() + j[r].get<double>();
  }
  if (!j.contains(prefix + key)) return std::nullopt;
  return j[prefix + key].get<double>();
}

// JSON names of the ratios (posthorn / anchor), by row key.
const std::map<std::string, std::string> kRatioNames = {
    {"bulk_mb_per_s_64k", "ratio_bulk_vs_"}, {"bulk_mb_per_s_16k", "ratio_bulk_16k_vs_"},
    {"msgs_per_s_1k", "ratio_msgs_vs_"},     {"setup_ms_p50", "ratio_setup_vs_"},
    {"cpu_ms_per_mb", "ratio_cpu_vs_"},      {"rss_kib_per_conn", "ratio_rss_vs_"},
};

std::string cell(std::optional<double> v, const char* format) {
  if (!v) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

void print_table(const nlohmann::json& j, const std::vector<PairFigures>& pairs,
                 const std::vector<std::string>& anchors) {
  std::printf("\n%-24s", "figure");
  for (const auto& p : pairs)
    std::printf(" %16s", p.label.c_str());
  for (const auto& a : anchors)
    std::printf(" %16s", ("ph / " + a).c_str());
  std::printf("\n");
  for (const auto& row : kRows) {
    std::printf("%-24s", row.label);
    for (const auto& p : pairs)
      std::printf(" %16s", cell(figure(j, p.key, row.key), row.format).c_str());
    for (const auto& a : anchors) {
      auto it = kRatioNames.find(row.key);
      std::optional<double> ratio;
      if (it != kRatioNames.end() && j.contains(it->second + a))
        ratio = j[it->second + a].get<double>();
      std::printf(" %16s", cell(ratio, "%.2fx").c_str());
    }
    std::printf("   (%s is better)\n", row.higher_is_better ? "higher" : "lower");
  }
  std::printf("(ratios are posthorn / anchor; pairs on 127.0.0.1, each peer its own process)\n\n");
}

} // namespace

int run_bench_dc(int argc, char** argv) {
  BenchOptions o;
  CLI::App app{"posthorn bench dc: data-channel throughput, message rate, setup time, CPU, memory"};
  app.add_flag("--json", o.json_only, "print only the final JSON line");
  auto* bytes_opt = app.add_option("--bytes", o.bulk_bytes, "bytes per bulk run");
  auto* small_opt =
      app.add_option("--small-bytes", o.small_bytes, "bytes for the 1 KiB message-rate run");
  auto* setup_opt =
      app.add_option("--setup-runs", o.setup_runs, "connections for the setup-time figure")
          ->check(CLI::Range(1, 10000));
  app.add_option("--connections", o.connections, "connections held open for the memory figure")
      ->check(CLI::Range(2, 100000));
  app.add_option("--vs", o.vs, "anchors measured in the same run: libdatachannel,libwebrtc")
      ->delimiter(',');
  app.add_option("--js-dir", o.js_dir, "folder of dc-peer.mjs and dc-rss.mjs (with node_modules)");
  app.add_option("--node", o.node, "the node executable (default: node on PATH)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (const auto& v : o.vs) {
    if (!kAnchors.contains(v)) {
      std::fprintf(stderr,
                   "posthorn bench dc: unknown anchor '%s' (known: libdatachannel, "
                   "libwebrtc)\n",
                   v.c_str());
      return 2;
    }
  }
  std::vector<std::string> anchors;
  for (const auto& anchor : kAnchors) // one order whatever the command line says
    if (std::find(o.vs.begin(), o.vs.end(), anchor.first) != o.vs.end())
      anchors.push_back(anchor.first);
  if (!anchors.empty()) {
    if (o.node.empty()) o.node = find_program("node");
    if (o.node.empty() || !std::filesystem::exists(o.js_dir + "/dc-peer.mjs") ||
        !std::filesystem::exists(o.js_dir + "/node_modules")) {
      std::fprintf(stderr,
                   "posthorn bench dc: --vs needs node and %s/dc-peer.mjs with its npm packages "
                   "(npm ci in that folder)\n",
                   o.js_dir.c_str());
      return 2;
    }
    // Smaller defaults side by side, so that the whole run stays within a few minutes (the
    // libwebrtc pair moves ~10-20 MB/s here); explicit flags win.
    if (bytes_opt->count() == 0) o.bulk_bytes = 64ull << 20;
    if (small_opt->count() == 0) o.small_bytes = 8ull << 20;
    if (setup_opt->count() == 0) o.setup_runs = 10;
  }

  std::vector<PairPlan> plans;
  plans.push_back({"", "posthorn", {posthorn_peer(), posthorn_peer()}, [&] {
                     return measure_rss_kib_per_connection(o.connections);
                   }});
  for (const auto& a : anchors) {
    const auto impl = kAnchors.at(a);
    plans.push_back({a + "_", a, {node_peer(o, impl), node_peer(o, impl)}, [&o, impl] {
                       return node_rss_kib_per_connection(o, impl);
                     }});
  }
  if (std::find(anchors.begin(), anchors.end(), "libwebrtc") != anchors.end()) {
    // The mixed pairs: posthorn offers and sends to libwebrtc, and the other way round.
    const auto wrtc = node_peer(o, "wrtc");
    plans.push_back(
        {"posthorn_to_libwebrtc_", "ph -> libwebrtc", {posthorn_peer(), wrtc}, nullptr});
    plans.push_back(
        {"libwebrtc_to_posthorn_", "libwebrtc -> ph", {wrtc, posthorn_peer()}, nullptr});
  }

  try {
    std::vector<PairFigures> results;
    for (const auto& plan : plans)
      results.push_back(measure_pair(o, plan));

    nlohmann::json j;
    for (const auto& f : results)
      add_keys(j, f);
    j["bulk_bytes"] = o.bulk_bytes;
    j["small_bytes"] = o.small_bytes;
    j["setup_runs"] = o.setup_runs;
    j["connections"] = o.connections;
    for (const auto& a : anchors) {
      for (const auto& [row, name] : kRatioNames) {
        auto ours = figure(j, "", row);
        auto theirs = figure(j, a + "_", row);
        if (ours && theirs && *theirs > 0) j[name + a] = *ours / *theirs;
      }
    }
    if (!o.json_only) print_table(j, results, anchors);
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
    bool ok = true;
    for (const auto& f : results)
      ok = ok && f.failures.empty();
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench dc: %s\n", e.what());
    return 1;
  }
}

} // namespace posthorn::cli
