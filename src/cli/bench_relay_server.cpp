#include "cli/bench_relay_server.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace posthorn::cli {
namespace {

std::vector<std::string> command_line(const TrackerServerLaunch& l) {
  if (l.kind == TrackerServerKind::BittorrentTracker) return {l.node, l.script};
  // No rate limit: the workload is many messages per client, and bittorrent-tracker has none.
  // Every other setting is the relay's default.
  return {tools::self_executable(),      "relay",  "--port", "0",       "--max-clients",
          std::to_string(l.max_clients), "--rate", "1e9",    "--burst", "1e9"};
}

/// Starts the child with the server's CPU affinity, then moves this thread to the load's.
tools::ChildProcess spawn_pinned(const TrackerServerLaunch& l) {
  if (l.server_cpu >= 0) pin_this_thread(l.server_cpu);
  struct Repin {
    int cpu;
    ~Repin() {
      if (cpu >= 0) pin_this_thread(cpu);
    }
  } repin{l.load_cpu};
  return tools::ChildProcess(command_line(l));
}

} // namespace

BenchTrackerServer::BenchTrackerServer(const TrackerServerLaunch& launch)
    : kind_(launch.kind), process_(spawn_pinned(launch)) {
  const auto line = process_.read_line(std::chrono::seconds(15));
  const auto event = nlohmann::json::parse(line.value_or("{}"), nullptr, false);
  const char* name = kind_ == TrackerServerKind::Posthorn ? "posthorn relay" : "bittorrent-tracker";
  if (!event.is_object() || event.value("event", "") != "listening" || !event.contains("port"))
    throw std::runtime_error(std::string(name) +
                             " did not start: " + line.value_or("(no output within 15 s)"));
  port_ = event["port"].get<std::uint16_t>();
}

BenchTrackerServer::~BenchTrackerServer() {
  ::kill(process_.pid(), SIGTERM);
  if (!process_.wait(std::chrono::seconds(5))) process_.kill();
}

void BenchTrackerServer::request_stats() {
  ::kill(process_.pid(), kind_ == TrackerServerKind::Posthorn ? SIGUSR1 : SIGUSR2);
}

std::optional<nlohmann::json> BenchTrackerServer::next_stats(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = process_.read_line(left);
    if (!line) return std::nullopt;
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (j.is_object() && j.value("event", "") == "stats") return j;
  }
}

bool pin_this_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

std::size_t raise_open_file_limit(std::size_t wanted) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  rlim_t target = static_cast<rlim_t>(wanted);
  if (std::ifstream nr("/proc/sys/fs/nr_open"); nr) {
    rlim_t cap = 0;
    if (nr >> cap && cap > 0) target = std::min(target, cap);
  }
  if (r.rlim_cur >= target) return r.rlim_cur;
  if (r.rlim_max < target) {
    rlimit raised{target, target}; // needs CAP_SYS_RESOURCE to raise the hard limit
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return target;
  }
  r.rlim_cur = std::min(target, r.rlim_max);
  setrlimit(RLIMIT_NOFILE, &r);
  getrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

} // namespace posthorn::cli
