#include "cli/bench_dc_measure.hpp"

#include <algorithm>
#include <stdexcept>

namespace posthorn::cli {

using namespace std::chrono;
using tools::DcEvent;
using tools::DcPair;
using tools::Side;

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(rank);
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

double measure_setup_ms(const DcPairSpec& spec) {
  DcPair pair(spec.offerer({.role = "offer", .mode = "echo", .bytes = 0, .message_size = 1024}),
              spec.answerer({.role = "answer", .mode = "echo", .bytes = 0, .message_size = 1024}),
              {.wait_answerer_ready = true});
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
  // so process start-up (exec, loading a stack, certificate generation) is excluded.
  return duration<double, std::milli>(opened - pair.first_signal_at()).count();
}

BulkResult measure_bulk(const DcPairSpec& spec, std::uint64_t bytes, std::size_t message_size) {
  DcPair pair(spec.offerer({.role = "offer",
                            .mode = "source",
                            .bytes = bytes,
                            .message_size = message_size,
                            .quiet = true}),
              spec.answerer({.role = "answer",
                             .mode = "sink",
                             .bytes = bytes,
                             .message_size = message_size,
                             .quiet = true}));
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
  // Read the CPU counters before anything else: the processes go on (closing) afterwards.
  const auto cpu_send = pair.process(Side::Offerer).cpu_time() - cpu_send0;
  const auto cpu_recv = pair.process(Side::Answerer).cpu_time() - cpu_recv0;
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
  r.cpu_ms_per_mb_send = duration<double, std::milli>(cpu_send).count() / mb;
  r.cpu_ms_per_mb_recv = duration<double, std::milli>(cpu_recv).count() / mb;
  r.intact = !sent_hash.empty() && sent_hash == received_hash;
  return r;
}

} // namespace posthorn::cli
