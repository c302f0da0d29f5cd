#pragma once
// The servers `posthorn bench relay` loads, each a child process started fresh per workload:
// `posthorn relay` (this executable) and the npm bittorrent-tracker Server in Node
// (bench/js/bittorrent-tracker-bench.mjs). Both print a JSON "listening" line with their port,
// a stats line on a signal (SIGUSR1 for posthorn, SIGUSR2 for Node, whose SIGUSR1 starts its
// debugger), and stop on SIGTERM. The child is started with the CPU affinity asked for (it and
// every thread it makes inherit it) and the calling thread is moved to the load generator's CPU.

#include "tools/child_process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace posthorn::cli {

enum class TrackerServerKind { Posthorn, BittorrentTracker };

struct TrackerServerLaunch {
  TrackerServerKind kind = TrackerServerKind::Posthorn;
  std::size_t max_clients = 50'000; ///< posthorn relay's --max-clients
  std::string node;                 ///< BittorrentTracker: the node executable
  std::string script;               ///< BittorrentTracker: bittorrent-tracker-bench.mjs
  int server_cpu = -1;              ///< pin the server here (-1: anywhere)
  int load_cpu = -1;                ///< then pin the calling thread here (-1: leave it)
};

class BenchTrackerServer {
public:
  /// Starts the server and returns once it listens; throws std::runtime_error otherwise.
  explicit BenchTrackerServer(const TrackerServerLaunch& launch);
  ~BenchTrackerServer(); ///< SIGTERM, then SIGKILL after 5 s (this child only, by pid)
  BenchTrackerServer(const BenchTrackerServer&) = delete;
  BenchTrackerServer& operator=(const BenchTrackerServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] long rss_kib() const { return process_.rss_kib(); }
  [[nodiscard]] std::chrono::microseconds cpu_time() const { return process_.cpu_time(); }
  /// Asks for a stats line (async-signal safe to call from a timer; read it with next_stats()).
  void request_stats();
  /// The next stats line, within `timeout`.
  std::optional<nlohmann::json> next_stats(std::chrono::milliseconds timeout);

private:
  TrackerServerKind kind_;
  tools::ChildProcess process_;
  std::uint16_t port_ = 0;
};

/// Pins the calling thread to `cpu`; false if the system would not.
bool pin_this_thread(int cpu);
/// Raises RLIMIT_NOFILE (soft and, where allowed, hard) to at least `wanted` descriptors, capped
/// by fs.nr_open; children started afterwards inherit it. Returns the soft limit now in force.
std::size_t raise_open_file_limit(std::size_t wanted);

} // namespace posthorn::cli
