// `posthorn bench dc`: data-channel figures between two posthorn processes on loopback.
// Prints a table and a final JSON line (keys documented in docs/benchmarks.md).
#include "cli/bench_rss.hpp"
#include "cli/commands.hpp"
#include "tools/dc_pair.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace posthorn::cli {
namespace {

using namespace std::chrono;
using tools::DcEvent;
using tools::DcPair;
using tools::Side;

struct BenchOptions {
  std::uint64_t bulk_bytes = 256ull << 20;
  std::uint64_t small_bytes = 32ull << 20;
  int setup_runs = 20;
  int connections = 100;
  bool json_only = false;
};

std::vector<std::string> dc_argv(const std::string& role, const std::string& mode,
                                 std::uint64_t bytes, std::size_t message_size) {
  return tools::dc_command(tools::self_executable(), {role, mode, bytes, message_size, true});
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  const double rank = p * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(rank);
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

/// Time from the first signaling line to both sides reporting the channel open.
double measure_setup_ms() {
  DcPair pair(dc_argv("offer", "echo", 0, 1024), dc_argv("answer", "echo", 0, 1024));
  int open = 0;
  steady_clock::time_point opened;
  auto e = pair.run_until(
      [&](const DcEvent& ev) {
        if (ev.type == "error") throw std::runtime_error("setup run failed: " + ev.error);
        if (ev.type == "open" && ++open == 2) {
          opened = ev.at;
          return true;
        }
        return false;
      },
      seconds(30));
  if (!e) throw std::runtime_error("setup run: channel did not open within 30 s");
  // The offer is the first thing the offerer prints; DcPair relays it the moment it is read,
  // so process start-up (exec, certificate generation) is excluded from the figure.
  return duration<double, std::milli>(opened - pair.first_signal_at()).count();
}

struct BulkResult {
  double mb_per_s = 0;
  double msgs_per_s = 0;
  double cpu_ms_per_mb_send = 0;
  double cpu_ms_per_mb_recv = 0;
  bool intact = false;
};

BulkResult measure_bulk(std::uint64_t bytes, std::size_t message_size) {
  DcPair pair(dc_argv("offer", "source", bytes, message_size),
              dc_argv("answer", "sink", bytes, message_size));
  steady_clock::time_point start;
  microseconds cpu_send0{}, cpu_recv0{};
  std::string sent_hash, received_hash;
  steady_clock::time_point end;
  int open = 0;
  auto done = pair.run_until(
      [&](const DcEvent& ev) {
        if (ev.type == "error") throw std::runtime_error("bulk run failed: " + ev.error);
        if (ev.type == "open" && ++open == 2) {
          start = ev.at;
          cpu_send0 = pair.process(Side::Offerer).cpu_time();
          cpu_recv0 = pair.process(Side::Answerer).cpu_time();
        }
        if (ev.type == "done" && ev.side == Side::Offerer) sent_hash = ev.sha256;
        if (ev.type == "done" && ev.side == Side::Answerer) {
          received_hash = ev.sha256;
          end = ev.at;
          return true;
        }
        return false;
      },
      seconds(600));
  if (!done) throw std::runtime_error("bulk run did not finish within 600 s");
  // The sender's own "done" may still be in its pipe; give it a moment.
  if (sent_hash.empty()) {
    pair.run_until(
        [&](const DcEvent& ev) {
          if (ev.type == "done" && ev.side == Side::Offerer) sent_hash = ev.sha256;
          return !sent_hash.empty();
        },
        seconds(10));
  }
  BulkResult r;
  const double secs = duration<double>(end - start).count();
  const double mb = static_cast<double>(bytes) / 1e6;
  r.mb_per_s = mb / secs;
  r.msgs_per_s = static_cast<double>(bytes / message_size) / secs;
  r.cpu_ms_per_mb_send =
      duration<double, std::milli>(pair.process(Side::Offerer).cpu_time() - cpu_send0).count() / mb;
  r.cpu_ms_per_mb_recv =
      duration<double, std::milli>(pair.process(Side::Answerer).cpu_time() - cpu_recv0).count() /
      mb;
  r.intact = !sent_hash.empty() && sent_hash == received_hash;
  return r;
}

} // namespace

int run_bench_dc(int argc, char** argv) {
  BenchOptions o;
  CLI::App app{"posthorn bench dc: data-channel throughput, message rate, setup time, CPU, memory"};
  app.add_flag("--json", o.json_only, "print only the final JSON line");
  app.add_option("--bytes", o.bulk_bytes, "bytes per bulk run");
  app.add_option("--small-bytes", o.small_bytes, "bytes for the 1 KiB message-rate run");
  app.add_option("--setup-runs", o.setup_runs, "connections for the setup-time figure");
  app.add_option("--connections", o.connections, "connections held open for the memory figure");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto say = [&](const char* fmt, auto... args) {
    if (!o.json_only) std::fprintf(stderr, fmt, args...);
  };
  try {
    std::vector<double> setups;
    for (int i = 0; i < o.setup_runs; ++i)
      setups.push_back(measure_setup_ms());
    say("setup (offer to both open), %d runs: p50 %.2f ms, p90 %.2f ms, max %.2f ms\n",
        o.setup_runs, percentile(setups, 0.5), percentile(setups, 0.9),
        *std::max_element(setups.begin(), setups.end()));
    auto bulk64 = measure_bulk(o.bulk_bytes, 64 * 1024);
    say("bulk 64 KiB messages: %.1f MB/s, CPU %.2f ms/MB send, %.2f ms/MB recv, %s\n",
        bulk64.mb_per_s, bulk64.cpu_ms_per_mb_send, bulk64.cpu_ms_per_mb_recv,
        bulk64.intact ? "sha256 ok" : "SHA256 MISMATCH");
    auto bulk16 = measure_bulk(o.bulk_bytes, 16 * 1024);
    say("bulk 16 KiB messages: %.1f MB/s, %s\n", bulk16.mb_per_s,
        bulk16.intact ? "sha256 ok" : "SHA256 MISMATCH");
    auto small = measure_bulk(o.small_bytes, 1024);
    say("1 KiB messages: %.0f msgs/s (%.1f MB/s), %s\n", small.msgs_per_s, small.mb_per_s,
        small.intact ? "sha256 ok" : "SHA256 MISMATCH");
    const double rss = measure_rss_kib_per_connection(o.connections);
    say("memory: %.0f KiB RSS per connection with %d connections open\n", rss, o.connections);

    nlohmann::json j = {
        {"bulk_mb_per_s_64k", bulk64.mb_per_s},
        {"bulk_mb_per_s_16k", bulk16.mb_per_s},
        {"msgs_per_s_1k", small.msgs_per_s},
        {"setup_ms_p50", percentile(setups, 0.5)},
        {"setup_ms_p90", percentile(setups, 0.9)},
        {"setup_ms_max", *std::max_element(setups.begin(), setups.end())},
        {"cpu_ms_per_mb_send", bulk64.cpu_ms_per_mb_send},
        {"cpu_ms_per_mb_recv", bulk64.cpu_ms_per_mb_recv},
        {"rss_kib_per_conn", rss},
        {"intact", bulk64.intact && bulk16.intact && small.intact},
        {"bulk_bytes", o.bulk_bytes},
    };
    std::printf("%s\n", j.dump().c_str());
    return j["intact"].get<bool>() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench dc: %s\n", e.what());
    return 1;
  }
}

} // namespace posthorn::cli
