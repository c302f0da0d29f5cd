// `posthorn bench relay [--vs bittorrent-tracker]`: `posthorn relay`'s WebTorrent tracker under
// load and, with --vs, the npm bittorrent-tracker 11.2.3 Server (WebSocket tracker only, in
// Node) under the same load in the same run. Each workload starts a fresh server process, pinned
// to one CPU, with the load generator (bench_relay_load, one thread in this process) pinned to
// another, on loopback:
//  - held: N clients connect and announce once (Trystero's dormant announce) into swarms of 10;
//    once every reply is in, the server's RSS over its idle baseline, per client held.
//  - throughput: C clients in swarms of 10 each keep W announces in flight, each with one offer
//    of ~600 bytes and numwant 1: the server replies to the sender and forwards the offer to
//    another member. Over T seconds after a warm-up: messages the server received and sent (as
//    the clients saw them; posthorn's own counters from its SIGUSR1 stats line beside them), and
//    the server's CPU time from /proc/<pid>/stat, so messages per CPU-second ("per core").
//  - half answers: the same with an answer (to_peer_id) after each announce.
// Prints a table and a final JSON line (keys in docs/benchmarks.md). Nothing here asserts a time.
#include "cli/bench_relay_load.hpp"
#include "cli/bench_relay_server.hpp"
#include "cli/commands.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef POSTHORN_SOURCE_DIR
#define POSTHORN_SOURCE_DIR "."
#endif

namespace posthorn::cli {
namespace {

using namespace std::chrono;
using nlohmann::json;

struct RelayBenchOptions {
  std::vector<std::string> vs;
  std::size_t clients = 50'000;
  std::size_t throughput_clients = 1000;
  std::size_t swarm_size = 10;
  std::size_t window = 8;
  std::size_t offer_bytes = 600;
  double seconds = 5;
  double warmup = 1;
  bool answers = true;
  bool pin = true;
  bool json_only = false;
  std::string node;
  std::string script = std::string(POSTHORN_SOURCE_DIR) + "/bench/js/bittorrent-tracker-bench.mjs";
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

class Bench {
public:
  Bench(const RelayBenchOptions& o, int server_cpu, int load_cpu)
      : o_(o), server_cpu_(server_cpu), load_cpu_(load_cpu) {}

  /// Every workload on one server; its figures go into j with `prefix`.
  void measure(TrackerServerKind kind, const std::string& prefix, json& j) {
    const char* name =
        kind == TrackerServerKind::Posthorn ? "posthorn relay" : "bittorrent-tracker";
    log("%s: %zu clients connecting and announcing ...", name, o_.clients);
    held(kind, prefix, j);
    log("%s: %zu clients, %zu announces in flight each, %.0f s ...", name, o_.throughput_clients,
        o_.window, o_.seconds);
    throughput(kind, prefix, false, j);
    if (o_.answers) {
      log("%s: the same, half of it answers ...", name);
      throughput(kind, prefix + "half_answers_", true, j);
    }
  }

private:
  template <class... A> void log(const char* format, A... args) const {
    if (o_.json_only) return;
    std::fprintf(stderr, format, args...);
    std::fprintf(stderr, "\n");
  }

  TrackerServerLaunch launch(TrackerServerKind kind, std::size_t clients) const {
    return {.kind = kind,
            // Room for the clients and a few more: the relay's limit is not what is measured.
            .max_clients = clients + 1000,
            .node = o_.node,
            .script = o_.script,
            .server_cpu = server_cpu_,
            .load_cpu = load_cpu_};
  }

  void held(TrackerServerKind kind, const std::string& p, json& j) {
    std::optional<BenchTrackerServer> running(std::in_place, launch(kind, o_.clients));
    auto& server = *running;
    // Let the process settle (Node compiles lazily at start) before the idle baseline.
    std::this_thread::sleep_for(milliseconds(300));
    const long idle = server.rss_kib();
    RelayLoad load(server.port());
    const auto r = load.hold({.clients = o_.clients, .swarm_size = o_.swarm_size});
    const long rss = server.rss_kib();
    j[p + "clients"] = r.clients;
    j[p + "clients_held"] = r.held;
    j[p + "clients_failed"] = r.failed;
    j[p + "hold_seconds"] = r.seconds;
    if (r.seconds > 0) j[p + "hold_clients_per_s"] = static_cast<double>(r.held) / r.seconds;
    j[p + "rss_idle_kib"] = idle;
    j[p + "rss_held_kib"] = rss;
    if (r.held > 0) j[p + "kib_per_client"] = static_cast<double>(rss - idle) / r.held;
    if (!r.first_error.empty()) j[p + "hold_first_error"] = r.first_error;
    server.request_stats();
    if (auto s = server.next_stats(seconds(10))) {
      // The server's own count of who it holds: tracker members, or bittorrent-tracker's peers.
      const auto key = kind == TrackerServerKind::Posthorn ? "tracker_members" : "peers";
      if (s->contains(key)) j[p + "members_reported"] = (*s)[key];
    }
    j[p + "clients_open_after"] = load.open_connections();
    log("  held %zu of %zu in %.1f s, %.2f KiB per client%s%s", r.held, r.clients, r.seconds,
        r.held > 0 ? static_cast<double>(rss - idle) / r.held : 0.0,
        r.first_error.empty() ? "" : "; first error: ", r.first_error.c_str());
    // The server goes first: clients closing under it would only make it log write errors.
    running.reset();
    load.close_all();
    settle();
  }

  void throughput(TrackerServerKind kind, const std::string& p, bool answers, json& j) {
    std::optional<BenchTrackerServer> running(std::in_place, launch(kind, o_.throughput_clients));
    auto& server = *running;
    RelayLoad load(server.port());
    microseconds cpu_start{}, cpu_end{};
    const bool posthorn = kind == TrackerServerKind::Posthorn;
    const auto r = load.throughput(
        {.clients = o_.throughput_clients,
         .swarm_size = o_.swarm_size,
         .window = o_.window,
         .offer_bytes = o_.offer_bytes,
         .answers = answers,
         .warmup = duration_cast<milliseconds>(duration<double>(o_.warmup)),
         .measure = duration_cast<milliseconds>(duration<double>(o_.seconds))},
        [&] {
          cpu_start = server.cpu_time();
          if (posthorn) server.request_stats();
        },
        [&] {
          cpu_end = server.cpu_time();
          if (posthorn) server.request_stats();
        });
    const auto& c = r.counts;
    const double t = r.seconds > 0 ? r.seconds : 1;
    const double cpu = duration<double>(cpu_end - cpu_start).count();
    // In: each announce (a reply or a refusal came back for it) and each answer (it arrived).
    // Out: everything the clients received.
    const double in = static_cast<double>(c.replies + c.failures + (answers ? c.answers : 0));
    const double out = static_cast<double>(c.replies + c.offers + c.answers + c.failures);
    j[p + "throughput_clients_held"] = r.setup.held;
    j[p + "msgs_per_s"] = (in + out) / t;
    j[p + "msgs_in_per_s"] = in / t;
    j[p + "msgs_out_per_s"] = out / t;
    j[p + "announces_per_s"] = static_cast<double>(c.replies) / t;
    j[p + "offers_per_s"] = static_cast<double>(c.offers) / t;
    if (answers) j[p + "answers_routed_per_s"] = static_cast<double>(c.answers) / t;
    j[p + "server_cpu_s"] = cpu;
    j[p + "server_cpu_percent"] = 100.0 * cpu / t;
    if (cpu > 0) j[p + "msgs_per_cpu_s"] = (in + out) / cpu;
    j[p + "load_cpu_percent"] = 100.0 * r.load_cpu_s / t;
    j[p + "failures"] = c.failures + c.lost;
    j[p + "window_seconds"] = r.seconds;
    if (!r.first_failure.empty()) j[p + "first_failure"] = r.first_failure;
    if (posthorn) {
      // The relay's own counters over (nearly) the same window, as a cross-check.
      auto a = server.next_stats(seconds(10));
      auto b = server.next_stats(seconds(10));
      if (a && b) {
        auto d = [&](const char* k) {
          return static_cast<double>((*b)[k].get<std::uint64_t>() - (*a)[k].get<std::uint64_t>());
        };
        const double relay_in =
            d("tracker_announces") + d("tracker_answers_routed") + d("tracker_answers_dropped");
        const double relay_out = d("tracker_announces") + d("tracker_offers_forwarded") +
                                 d("tracker_answers_routed") + d("tracker_refused");
        j[p + "relay_counted_msgs_per_s"] = (relay_in + relay_out) / t;
        j[p + "relay_dropped_out"] = d("dropped_out");
      }
    }
    log("  %.0f msgs/s (%.0f in, %.0f out), server CPU %.0f%%, %.0f msgs per CPU-second, load "
        "generator CPU %.0f%%",
        (in + out) / t, in / t, out / t, 100.0 * cpu / t, cpu > 0 ? (in + out) / cpu : 0.0,
        100.0 * r.load_cpu_s / t);
    if (!r.first_failure.empty()) log("  first failure: %s", r.first_failure.c_str());
    running.reset();
    load.close_all();
    settle();
  }

  /// After a workload the kernel still tears down its sockets (tens of thousands after `held`)
  /// on both CPUs; the next workload starts once that is done, not during it.
  static void settle() { std::this_thread::sleep_for(seconds(1)); }

  const RelayBenchOptions& o_;
  int server_cpu_;
  int load_cpu_;
};

/// The figures in the table: JSON key (unprefixed), label, printf format, higher is better,
/// name of the ratio key (posthorn / anchor) or null.
struct Row {
  const char* key;
  const char* label;
  const char* format;
  bool higher_is_better;
  const char* ratio;
};
constexpr Row kRows[] = {
    {"clients_held", "clients held", "%.0f", true, "ratio_clients_held_vs_"},
    {"hold_clients_per_s", "connect+announce clients/s", "%.0f", true, nullptr},
    {"kib_per_client", "memory KiB per client", "%.2f", false, "ratio_kib_per_client_vs_"},
    {"msgs_per_s", "msgs/s (in+out)", "%.0f", true, "ratio_msgs_vs_"},
    {"relay_counted_msgs_per_s", "  as the relay counted them", "%.0f", true, nullptr},
    {"announces_per_s", "announces/s", "%.0f", true, nullptr},
    {"server_cpu_percent", "server CPU %", "%.0f", false, nullptr},
    {"msgs_per_cpu_s", "msgs per CPU-second", "%.0f", true, "ratio_msgs_per_cpu_s_vs_"},
    {"load_cpu_percent", "load generator CPU %", "%.0f", false, nullptr},
    {"half_answers_msgs_per_s", "half answers: msgs/s", "%.0f", true,
     "ratio_half_answers_msgs_vs_"},
    {"half_answers_answers_routed_per_s", "half answers: answers/s", "%.0f", true,
     "ratio_answers_routed_vs_"},
    {"half_answers_msgs_per_cpu_s", "half answers: msgs/CPU-s", "%.0f", true,
     "ratio_half_answers_msgs_per_cpu_s_vs_"},
};

std::optional<double> figure(const json& j, const std::string& key) {
  if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

std::string cell(std::optional<double> v, const char* format) {
  if (!v) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

void print_table(const json& j, bool anchor) {
  std::printf("\n%-30s %16s", "figure", "posthorn relay");
  if (anchor) std::printf(" %20s %10s", "bittorrent-tracker", "ratio");
  std::printf("\n");
  for (const auto& row : kRows) {
    std::printf("%-30s %16s", row.label,
                cell(figure(j, std::string("posthorn_") + row.key), row.format).c_str());
    if (anchor) {
      std::optional<double> ratio;
      if (row.ratio) ratio = figure(j, std::string(row.ratio) + "bittorrent_tracker");
      std::printf(" %20s %10s",
                  cell(figure(j, std::string("bittorrent_tracker_") + row.key), row.format).c_str(),
                  cell(ratio, "%.2fx").c_str());
    }
    std::printf("   (%s is better)\n", row.higher_is_better ? "higher" : "lower");
  }
  std::printf("(server pinned to one CPU, load generator to another; ratios are posthorn / "
              "bittorrent-tracker)\n");
  if (j.value("posthorn_load_cpu_percent", 0.0) > 95 ||
      j.value("bittorrent_tracker_load_cpu_percent", 0.0) > 95)
    std::printf("note: the load generator used its whole core: that server's msgs/s is a lower "
                "bound; msgs per CPU-second still holds\n");
  const auto held = j.value("posthorn_clients_held", std::size_t{0});
  const auto asked = j.value("clients_requested", std::size_t{0});
  std::string held_goal = held >= 50'000 ? "met" : "not met";
  if (held < 50'000 && j.value("clients", std::size_t{0}) < std::min<std::size_t>(asked, 50'000)) {
    // The open-file limit capped the run: say what was held and what 50 000 would take.
    char buf[160];
    std::snprintf(
        buf, sizeof buf,
        "not measurable here (open-file limit), %zu held; %.0f MiB for 50 000 at this rate", held,
        j.value("posthorn_kib_per_client", 0.0) * 50'000 / 1024);
    held_goal = buf;
  }
  std::printf("compass: 50 000 clients held: %s; >= 200 000 msgs/s on one core: %s "
              "(%.0f msgs/s, %.0f per CPU-second)\n\n",
              held_goal.c_str(), j.value("posthorn_msgs_per_s", 0.0) >= 200'000 ? "met" : "not met",
              j.value("posthorn_msgs_per_s", 0.0), j.value("posthorn_msgs_per_cpu_s", 0.0));
}

/// The first two CPUs this process may run on, or -1 each.
std::pair<int, int> two_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {-1, -1};
  int found[2] = {-1, -1};
  int n = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; ++cpu)
    if (CPU_ISSET(cpu, &set)) found[n++] = cpu;
  return n == 2 ? std::pair{found[0], found[1]} : std::pair{-1, -1};
}

} // namespace

int run_bench_relay(int argc, char** argv) {
  RelayBenchOptions o;
  CLI::App app{"posthorn bench relay: posthorn relay's WebTorrent tracker under load (clients "
               "held, memory per client, messages per second per core), side by side with "
               "bittorrent-tracker"};
  app.add_option("--vs", o.vs, "anchor measured in the same run: bittorrent-tracker")
      ->delimiter(',');
  app.add_option("--clients", o.clients, "clients held at once")->check(CLI::Range(1, 1'000'000));
  app.add_option("--throughput-clients", o.throughput_clients, "clients of the throughput runs")
      ->check(CLI::Range(2, 100'000));
  app.add_option("--seconds", o.seconds, "measured seconds per throughput run")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", o.warmup, "seconds of load before the measured window")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--window", o.window, "announces in flight per client")
      ->check(CLI::Range(1, 1000));
  app.add_option("--swarm-size", o.swarm_size, "clients per swarm")->check(CLI::Range(2, 10'000));
  app.add_option("--offer-bytes", o.offer_bytes, "SDP bytes per offer and answer")
      ->check(CLI::Range(1, 60'000));
  bool no_answers = false;
  app.add_flag("--no-answers", no_answers, "skip the run where half the traffic is answers");
  bool no_pin = false;
  app.add_flag("--no-pin", no_pin, "do not pin the server and the load generator to CPUs");
  app.add_option("--node", o.node, "the node executable (default: node on PATH)");
  app.add_option("--script", o.script, "path of bench/js/bittorrent-tracker-bench.mjs");
  app.add_flag("--json", o.json_only, "print only the final JSON line");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  o.answers = !no_answers;
  o.pin = !no_pin;
  bool anchor = false;
  for (const auto& v : o.vs) {
    if (v != "bittorrent-tracker") {
      std::fprintf(stderr,
                   "posthorn bench relay: unknown anchor '%s' (known: bittorrent-tracker)\n",
                   v.c_str());
      return 2;
    }
    anchor = true;
  }
  if (anchor) {
    if (o.node.empty()) o.node = find_program("node");
    if (o.node.empty() || !std::filesystem::exists(o.script)) {
      std::fprintf(stderr,
                   "posthorn bench relay: --vs bittorrent-tracker needs node and %s, with the npm "
                   "packages of tests/interop/js (scripts/setup.sh)\n",
                   o.script.c_str());
      return 2;
    }
  }

  // Each held client is a descriptor here and one in the server (children inherit the limit).
  const std::size_t wanted =
      std::max<std::size_t>(200'000, o.clients + o.throughput_clients + 10'000);
  const std::size_t files = raise_open_file_limit(wanted);
  // Every held client is a descriptor in this process and one in the server's, which inherits
  // the same limit. Fewer clients than asked, said out loud, beat a run of EMFILE failures.
  const std::size_t requested = o.clients;
  constexpr std::size_t kSpareFiles = 256; // pipes, the listener, Node's own descriptors
  if (files < o.clients + kSpareFiles) {
    o.clients = files > 2 * kSpareFiles ? files - kSpareFiles : kSpareFiles;
    std::fprintf(stderr,
                 "posthorn bench relay: %zu open files allowed per process (RLIMIT_NOFILE; raising "
                 "the hard limit needs CAP_SYS_RESOURCE): holding %zu clients, not %zu\n",
                 files, o.clients, requested);
  }
  auto [server_cpu, load_cpu] = o.pin ? two_cpus() : std::pair{-1, -1};
  if (o.pin && server_cpu < 0 && !o.json_only)
    std::fprintf(stderr, "posthorn bench relay: fewer than two CPUs; nothing is pinned\n");

  try {
    json j;
    j["clients"] = o.clients;
    j["clients_requested"] = requested;
    j["throughput_clients"] = o.throughput_clients;
    j["swarm_size"] = o.swarm_size;
    j["window"] = o.window;
    j["offer_bytes"] = o.offer_bytes;
    j["seconds"] = o.seconds;
    j["warmup_seconds"] = o.warmup;
    j["pinned"] = server_cpu >= 0;
    j["open_file_limit"] = files;
    Bench bench(o, server_cpu, load_cpu);
    bench.measure(TrackerServerKind::Posthorn, "posthorn_", j);
    if (anchor) {
      bench.measure(TrackerServerKind::BittorrentTracker, "bittorrent_tracker_", j);
      for (const auto& row : kRows) {
        if (!row.ratio) continue;
        auto ours = figure(j, std::string("posthorn_") + row.key);
        auto theirs = figure(j, std::string("bittorrent_tracker_") + row.key);
        if (ours && theirs && *theirs > 0)
          j[std::string(row.ratio) + "bittorrent_tracker"] = *ours / *theirs;
      }
    }
    j["clients_capped_by_open_file_limit"] = o.clients < requested;
    j["goal_50k_clients_met"] = j.value("posthorn_clients_held", std::size_t{0}) >= 50'000;
    j["goal_200k_msgs_per_s_met"] = j.value("posthorn_msgs_per_s", 0.0) >= 200'000;
    if (!o.json_only) print_table(j, anchor);
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "posthorn bench relay: %s\n", e.what());
    return 1;
  }
}

} // namespace posthorn::cli
