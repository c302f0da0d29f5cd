// `posthorn bench room [--vs trystero]`: rooms and actions through a local mosquitto, the same
// workloads on posthorn↔posthorn and, with --vs trystero, on real Trystero 0.25.4 in Node
// (node-datachannel) — Trystero↔Trystero and the mixed pair — measured in the same run.
//
// Workloads (docs/benchmarks.md):
//  - join: the first peer joins and settles; the second joins; time from the second join call to
//    the later of the two "peer joined" events (signaling through the broker, ICE, DTLS, SCTP and
//    the room handshake). Repeated in fresh apps (a new connection each time); the first run also
//    opens the signaling connections and is reported apart ("cold"); p50 and p90 of the rest.
//  - messages: N binary actions of 1000 bytes, first send to last arrival.
//  - bulk: one 32 MiB binary action, first send to its arrival whole.
// Prints a table and a final JSON line.
#include "cli/bench_room_peers.hpp"
#include "cli/commands.hpp"
#include "core/log.hpp"
#include "tools/mosquitto_broker.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#ifndef POSTHORN_SOURCE_DIR
#define POSTHORN_SOURCE_DIR "."
#endif

namespace posthorn::cli {
namespace {

using namespace std::chrono;
using PeerFactory = std::function<std::unique_ptr<BenchPeer>()>;

struct RoomBenchOptions {
  std::vector<std::string> vs;
  int join_runs = 10;
  std::uint64_t messages = 30'000;
  std::size_t message_size = 1000;
  std::size_t bulk_bytes = 32u << 20;
  std::string relay;
  std::string script = std::string(POSTHORN_SOURCE_DIR) + "/bench/js/trystero-room-bench.mjs";
  bool json_only = false;
};

struct PairFigures {
  std::string key; // "posthorn", "trystero", "mixed"
  std::string label;
  std::optional<double> join_cold_ms; // the first join: signaling connections opened too
  std::vector<double> join_ms;        // later joins, signaling connections already open
  std::optional<double> msgs_per_s;
  std::optional<double> bulk_mb_per_s;
  std::vector<std::string> failures;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(rank);
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

std::string unique_prefix() {
  std::random_device rd;
  std::ostringstream s;
  s << "bench-" << std::hex << rd() << rd();
  return s.str();
}

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    auto candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

void log_line(const RoomBenchOptions& o, const std::string& text) {
  if (!o.json_only) std::fprintf(stderr, "  %s\n", text.c_str());
}

// `first` joins and settles, then `second` joins: the join figure measures the second's path.
// Data flows from `first` to `second`.
void measure_pair(const RoomBenchOptions& o, const std::string& prefix, BenchPeer& first,
                  BenchPeer& second, PairFigures& out) {
  constexpr auto kWait = seconds(30);
  for (int run = 0; run < o.join_runs; ++run) {
    // A fresh app per run: peers share a connection across the rooms of one app (spec §9), so
    // reusing one would measure a room handshake over an open connection, not a join.
    const auto app = prefix + "-" + out.key + "-" + std::to_string(run);
    const auto room = app + "-join";
    try {
      first.join(app, room);
      // Long enough for the first peer's subscription and announce burst to be done, so that
      // the figure is the second peer's join, not a race between two fresh peers.
      std::this_thread::sleep_for(milliseconds(300));
      const double start = second.join(app, room);
      const double a = first.wait_peer_join(room, kWait);
      const double b = second.wait_peer_join(room, kWait);
      // The first run also opens the peers' signaling connections (a WebSocket to the broker);
      // later joins reuse them, as an application that joins rooms over time does.
      if (run == 0)
        out.join_cold_ms = std::max(a, b) - start;
      else
        out.join_ms.push_back(std::max(a, b) - start);
    } catch (const std::exception& e) {
      out.failures.push_back(std::string("join: ") + e.what());
    }
    first.leave(room);
    second.leave(room);
  }

  const auto app = prefix + "-" + out.key + "-data";
  const auto room = app;
  first.join(app, room);
  std::this_thread::sleep_for(milliseconds(300));
  second.join(app, room);
  try {
    first.wait_peer_join(room, kWait);
    second.wait_peer_join(room, kWait);
  } catch (const std::exception& e) {
    out.failures.push_back(std::string("data room: ") + e.what());
    first.leave(room);
    second.leave(room);
    return;
  }
  try {
    second.expect(room, "m", o.messages);
    const double start = first.start_flood(room, "m", o.messages, o.message_size);
    auto got = second.wait_received(room, "m", seconds(120));
    out.msgs_per_s = static_cast<double>(got.count) / ((got.t_last_ms - start) / 1000.0);
  } catch (const std::exception& e) {
    out.failures.push_back(std::string("messages: ") + e.what());
  }
  try {
    second.expect(room, "b", 1);
    const double start = first.start_flood(room, "b", 1, o.bulk_bytes);
    auto got = second.wait_received(room, "b", seconds(120));
    if (got.bytes != o.bulk_bytes) throw std::runtime_error("bulk arrived with the wrong size");
    out.bulk_mb_per_s = static_cast<double>(got.bytes) / 1e6 / ((got.t_last_ms - start) / 1000.0);
  } catch (const std::exception& e) {
    out.failures.push_back(std::string("bulk: ") + e.what());
  }
  first.leave(room);
  second.leave(room);
}

std::string fmt(std::optional<double> v, const char* spec) {
  if (!v) return "failed";
  char buf[64];
  std::snprintf(buf, sizeof buf, spec, *v);
  return buf;
}

} // namespace

int run_bench_room(int argc, char** argv) {
  RoomBenchOptions o;
  CLI::App app{"posthorn bench room: rooms and actions through a local mosquitto"};
  app.add_option("--vs", o.vs, "anchors to run side by side: trystero")->delimiter(',');
  app.add_option("--join-runs", o.join_runs, "join measurements per pair")
      ->check(CLI::Range(1, 1000));
  app.add_option("--messages", o.messages, "1000-byte actions per run");
  app.add_option("--bulk-bytes", o.bulk_bytes, "size of the bulk action");
  app.add_option("--relay", o.relay, "use this ws:// MQTT broker instead of starting mosquitto");
  app.add_option("--script", o.script, "path of bench/js/trystero-room-bench.mjs");
  app.add_flag("--json", o.json_only, "print only the final JSON line");
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "posthorn's own log on stderr: trace|debug|info|warn");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  set_log_level(parse_log_level(log_level));
  const bool with_trystero = std::find(o.vs.begin(), o.vs.end(), "trystero") != o.vs.end();
  for (const auto& v : o.vs) {
    if (v != "trystero") {
      std::fprintf(stderr, "posthorn bench room: unknown anchor '%s' (known: trystero)\n",
                   v.c_str());
      return 2;
    }
  }
  std::string node;
  if (with_trystero) {
    node = find_program("node");
    if (node.empty() || !std::filesystem::exists(o.script)) {
      std::fprintf(stderr,
                   "posthorn bench room: --vs trystero needs node and %s with its npm packages "
                   "(scripts/setup-node.sh)\n",
                   o.script.c_str());
      return 2;
    }
  }

  try {
    std::optional<tools::MosquittoBroker> broker;
    if (o.relay.empty()) {
      if (!tools::MosquittoBroker::available()) {
        std::fprintf(stderr, "posthorn bench room: mosquitto is not installed (or pass --relay)\n");
        return 2;
      }
      broker.emplace();
      o.relay = broker->ws_url();
    }
    BenchPeerConfig config{.relay_url = o.relay};
    const auto prefix = unique_prefix();
    PeerFactory posthorn = [&] { return make_posthorn_process_bench_peer(config); };
    PeerFactory trystero = [&] { return make_trystero_bench_peer(config, node, o.script); };

    struct PairSpec {
      std::string key, label;
      PeerFactory first, second;
    };
    std::vector<PairSpec> specs{{"posthorn", "posthorn ↔ posthorn", posthorn, posthorn}};
    if (with_trystero) {
      specs.push_back({"trystero", "Trystero ↔ Trystero (Node)", trystero, trystero});
      // Mixed pairs, both ways; the join figure is the second one's join into the first's room.
      specs.push_back({"trystero_to_posthorn", "Trystero → posthorn", trystero, posthorn});
      specs.push_back({"posthorn_to_trystero", "posthorn → Trystero", posthorn, trystero});
    }

    std::vector<PairFigures> results;
    for (const auto& spec : specs) {
      if (!o.json_only) std::fprintf(stderr, "measuring %s ...\n", spec.label.c_str());
      PairFigures f{spec.key, spec.label, {}, {}, {}, {}, {}};
      auto first = spec.first();
      auto second = spec.second();
      measure_pair(o, prefix, *first, *second, f);
      for (const auto& why : f.failures)
        log_line(o, spec.key + " failed: " + why);
      results.push_back(std::move(f));
    }

    nlohmann::json j;
    j["messages"] = o.messages;
    j["message_size"] = o.message_size;
    j["bulk_bytes"] = o.bulk_bytes;
    j["join_runs"] = o.join_runs;
    for (const auto& r : results) {
      if (!r.join_ms.empty()) {
        j[r.key + "_join_ms_p50"] = percentile(r.join_ms, 0.5);
        j[r.key + "_join_ms_p90"] = percentile(r.join_ms, 0.9);
      }
      if (r.join_cold_ms) j[r.key + "_join_cold_ms"] = *r.join_cold_ms;
      if (r.msgs_per_s) j[r.key + "_msgs_per_s_1000b"] = *r.msgs_per_s;
      if (r.bulk_mb_per_s) j[r.key + "_bulk_mb_per_s"] = *r.bulk_mb_per_s;
      j[r.key + "_failures"] = r.failures.size();
    }
    if (with_trystero) {
      const auto& p = results[0];
      const auto& t = results[1];
      if (p.msgs_per_s && t.msgs_per_s) j["ratio_msgs_vs_trystero"] = *p.msgs_per_s / *t.msgs_per_s;
      if (p.bulk_mb_per_s && t.bulk_mb_per_s)
        j["ratio_bulk_vs_trystero"] = *p.bulk_mb_per_s / *t.bulk_mb_per_s;
      if (!p.join_ms.empty() && !t.join_ms.empty())
        j["ratio_join_speedup_vs_trystero"] =
            percentile(t.join_ms, 0.5) / percentile(p.join_ms, 0.5);
    }

    if (!o.json_only) {
      std::printf("\n%-28s %10s %12s %12s %16s %14s\n", "pair", "cold join", "join p50 ms",
                  "join p90 ms", "1000 B actions/s", "bulk MB/s");
      for (const auto& r : results) {
        std::printf("%-28s %10s %12s %12s %16s %14s\n", r.label.c_str(),
                    fmt(r.join_cold_ms, "%.1f").c_str(),
                    r.join_ms.empty() ? "failed" : fmt(percentile(r.join_ms, 0.5), "%.1f").c_str(),
                    r.join_ms.empty() ? "failed" : fmt(percentile(r.join_ms, 0.9), "%.1f").c_str(),
                    fmt(r.msgs_per_s, "%.0f").c_str(), fmt(r.bulk_mb_per_s, "%.1f").c_str());
      }
      std::printf("(cold join: the first, which also connects to the broker; bulk: one %zu-byte "
                  "action)\n",
                  o.bulk_bytes);
      if (j.contains("ratio_bulk_vs_trystero") || j.contains("ratio_msgs_vs_trystero")) {
        std::printf("\nposthorn / Trystero: actions %s×, bulk %s×, join %s× faster\n",
                    fmt(j.value("ratio_msgs_vs_trystero", 0.0), "%.2f").c_str(),
                    fmt(j.value("ratio_bulk_vs_trystero", 0.0), "%.2f").c_str(),
                    fmt(j.value("ratio_join_speedup_vs_trystero", 0.0), "%.2f").c_str());
      }
      std::printf("\n");
    }
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
    bool failed = false;
    for (const auto& r : results)
      failed = failed || !r.failures.empty();
    return failed ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "posthorn bench room: %s\n", e.what());
    return 1;
  }
}

} // namespace posthorn::cli
