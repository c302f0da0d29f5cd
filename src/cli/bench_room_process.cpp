// ProcessBenchPeer: a bench peer in a child process, driven by the JSON-lines protocol of
// bench/js/trystero-room-bench.mjs. Two programs speak it: real Trystero 0.25.4 in Node, and
// `posthorn bench room-peer` (bench_room_peer.cpp). Events are read into a backlog and matched by
// room and action, since a process may report on one room while we wait for another.
#include "cli/bench_room_peers.hpp"
#include "tools/child_process.hpp"

#include <nlohmann/json.hpp>

#include <deque>
#include <functional>
#include <stdexcept>

namespace posthorn::cli {
namespace {

using namespace std::chrono;
using nlohmann::json;

class ProcessBenchPeer final : public BenchPeer {
public:
  ProcessBenchPeer(std::string name, const std::vector<std::string>& argv)
      : name_(std::move(name)), child_(argv) {}

  ~ProcessBenchPeer() override {
    child_.close_stdin(); // the peer leaves its rooms and exits
    if (!child_.wait(seconds(5))) child_.kill();
  }

  std::string name() const override { return name_; }

  double join(const std::string& app, const std::string& room) override {
    send({{"cmd", "join"}, {"app", app}, {"room", room}});
    return wait_for([&](const json& e) { return e["event"] == "ready" && e["room"] == room; },
                    seconds(30), "ready in " + room)["t"]
        .get<double>();
  }

  double wait_peer_join(const std::string& room, milliseconds timeout) override {
    return wait_for([&](const json& e) { return e["event"] == "join" && e["room"] == room; },
                    timeout, "a peer joining " + room)["t"]
        .get<double>();
  }

  void expect(const std::string& room, const std::string& action, std::uint64_t count) override {
    send({{"cmd", "expect"}, {"room", room}, {"action", action}, {"count", count}});
    wait_for(
        [&](const json& e) {
          return e["event"] == "expecting" && e["room"] == room && e["action"] == action;
        },
        seconds(30), "expecting on " + action);
  }

  Received wait_received(const std::string& room, const std::string& action,
                         milliseconds timeout) override {
    auto e = wait_for(
        [&](const json& e) {
          return e["event"] == "received" && e["room"] == room && e["action"] == action;
        },
        timeout, "messages on " + action);
    return {e["count"].get<std::uint64_t>(), e["bytes"].get<std::uint64_t>(),
            e["t_first"].get<double>(), e["t_last"].get<double>()};
  }

  double start_flood(const std::string& room, const std::string& action, std::uint64_t count,
                     std::size_t size) override {
    // The peer reports the start time in its `flooded` line, read later by leave()/others;
    // the flood starts when the line is read, which is within a millisecond of now.
    send({{"cmd", "flood"}, {"room", room}, {"action", action}, {"count", count}, {"size", size}});
    return epoch_ms();
  }

  void leave(const std::string& room) override {
    send({{"cmd", "leave"}, {"room", room}});
    wait_for([&](const json& e) { return e["event"] == "left" && e["room"] == room; }, seconds(30),
             "leaving " + room);
  }

private:
  void send(const json& cmd) {
    if (!child_.write_line(cmd.dump()))
      throw std::runtime_error(name_ + " bench peer: the process exited (stdin closed)");
  }

  json wait_for(const std::function<bool(const json&)>& match, milliseconds timeout,
                const std::string& what) {
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
      if (match(*it)) {
        auto e = std::move(*it);
        backlog_.erase(it);
        return e;
      }
    }
    const auto deadline = steady_clock::now() + timeout;
    while (true) {
      const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
      if (left <= milliseconds(0)) break;
      auto line = child_.read_line(left);
      if (!line) {
        if (child_.eof()) throw std::runtime_error(name_ + " bench peer: the process exited");
        break;
      }
      auto e = json::parse(*line, nullptr, false);
      if (e.is_discarded() || !e.is_object()) continue;
      if (e["event"] == "error")
        throw std::runtime_error(name_ + " bench peer: " + e.value("error", std::string()));
      if (match(e)) return e;
      if (backlog_.size() < 1000) backlog_.push_back(std::move(e));
    }
    throw std::runtime_error(name_ + " bench peer: timed out waiting for " + what);
  }

  std::string name_;
  tools::ChildProcess child_;
  std::deque<json> backlog_;
};

} // namespace

std::unique_ptr<BenchPeer> make_trystero_bench_peer(const BenchPeerConfig& config,
                                                    const std::string& node,
                                                    const std::string& script) {
  return std::make_unique<ProcessBenchPeer>(
      "trystero", std::vector<std::string>{node, script, "--relay", config.relay_url});
}

std::unique_ptr<BenchPeer> make_posthorn_process_bench_peer(const BenchPeerConfig& config) {
  return std::make_unique<ProcessBenchPeer>(
      "posthorn", std::vector<std::string>{tools::self_executable(), "bench", "room-peer",
                                           "--relay", config.relay_url});
}

} // namespace posthorn::cli
