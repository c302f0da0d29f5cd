// `posthorn bench room-peer --relay URL`: the posthorn side of `posthorn bench room` as a process
// of its own, speaking the JSON-lines protocol of bench/js/trystero-room-bench.mjs (documented
// there). `posthorn bench room` runs every peer, posthorn or Trystero, in its own process, as
// applications run: two runtimes in one process would share usrsctp, a process-wide stack with
// one lock, and measure that lock instead of the connection.
//
// The work is done by PosthornBenchPeer (one Runtime, public API only); the blocking waits of the
// BenchPeer interface run on helper threads, and their figures are taken on the runtime's loop
// when the event happens, so reporting late never skews a figure.
#include "cli/bench_room_peers.hpp"

#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

namespace posthorn::cli {
namespace {

using nlohmann::json;
using namespace std::chrono;

// How long a helper waits for a peer or a batch: far beyond any run, so that the driver's own,
// tighter timeout is the one that reports a stuck run.
constexpr auto kWaitLimit = minutes(10);

class EventWriter {
public:
  void emit(const json& event) {
    const auto line = event.dump() + "\n";
    std::lock_guard lock(mutex_);
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  }

private:
  std::mutex mutex_;
};

class RoomPeerServer {
public:
  explicit RoomPeerServer(const BenchPeerConfig& config)
      : peer_(make_posthorn_bench_peer(config)) {}

  void handle(const json& cmd) {
    const auto what = cmd.value("cmd", std::string());
    const auto room = cmd.value("room", std::string());
    if (what == "join") {
      const double t = peer_->join(cmd.at("app").get<std::string>(), room);
      out_.emit({{"event", "ready"}, {"room", room}, {"t", t}});
      in_background([this, room] {
        return json{
            {"event", "join"}, {"room", room}, {"t", peer_->wait_peer_join(room, kWaitLimit)}};
      });
    } else if (what == "expect") {
      const auto action = cmd.at("action").get<std::string>();
      peer_->expect(room, action, cmd.at("count").get<std::uint64_t>());
      out_.emit({{"event", "expecting"}, {"room", room}, {"action", action}});
      in_background([this, room, action] {
        const auto got = peer_->wait_received(room, action, kWaitLimit);
        return json{{"event", "received"},    {"room", room},       {"action", action},
                    {"count", got.count},     {"bytes", got.bytes}, {"t_first", got.t_first_ms},
                    {"t_last", got.t_last_ms}};
      });
    } else if (what == "flood") {
      const double t = peer_->start_flood(room, cmd.at("action").get<std::string>(),
                                          cmd.at("count").get<std::uint64_t>(),
                                          cmd.at("size").get<std::size_t>());
      out_.emit({{"event", "flooded"}, {"room", room}, {"t_start", t}});
    } else if (what == "leave") {
      peer_->leave(room);
      out_.emit({{"event", "left"}, {"room", room}});
    } else {
      out_.emit({{"event", "error"}, {"error", "unknown command " + what}});
    }
  }

  void emit_error(const std::string& message) {
    out_.emit({{"event", "error"}, {"error", message}});
  }

private:
  // Runs a blocking wait on a thread of its own and reports what it returns (or why it failed).
  // The threads are detached: the process ends with _Exit once stdin closes, whatever they wait
  // for.
  template <typename Wait> void in_background(Wait wait) {
    std::thread([this, wait = std::move(wait)] {
      try {
        out_.emit(wait());
      } catch (const std::exception& e) {
        emit_error(e.what());
      }
    }).detach();
  }

  EventWriter out_;
  std::unique_ptr<BenchPeer> peer_;
};

} // namespace

int run_bench_room_peer(int argc, char** argv) {
  CLI::App app{"posthorn bench room-peer: one posthorn peer of `posthorn bench room`, driven by "
               "JSON lines on stdin"};
  BenchPeerConfig config;
  app.add_option("--relay", config.relay_url, "the MQTT broker's ws:// URL")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Never destroyed: background waits may still use it when stdin closes (see below).
  auto& server = *new RoomPeerServer(config);
  std::string line;
  while (std::getline(std::cin, line)) {
    auto cmd = json::parse(line, nullptr, false);
    if (cmd.is_discarded() || !cmd.is_object()) {
      server.emit_error("not a JSON object");
      continue;
    }
    try {
      server.handle(cmd);
    } catch (const std::exception& e) {
      server.emit_error(e.what());
    }
  }
  // stdin closed: the run is over. Waits still pending (for a batch that will never come) would
  // hold the process for minutes, so end it here; the other peer sees the connection close.
  std::fflush(stdout);
  std::_Exit(0);
}

} // namespace posthorn::cli
