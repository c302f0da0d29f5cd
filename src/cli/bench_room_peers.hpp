#pragma once
// The two kinds of peer `posthorn bench room` measures, behind one interface so that every
// workload runs unchanged on posthorn↔posthorn, posthorn↔Trystero and Trystero↔Trystero:
//  - PosthornBenchPeer: a posthorn::Runtime in this process (its own loop thread), through the
//    public API only;
//  - ProcessBenchPeer: a peer in a child process driven by JSON lines: real Trystero 0.25.4 in
//    Node (bench/js/trystero-room-bench.mjs), or a PosthornBenchPeer in
//    `posthorn bench room-peer`. The benchmark measures every peer in its own process.
// Times are wall-clock milliseconds since the Unix epoch, comparable across the processes of
// one machine.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace posthorn::cli {

/// What a receiver saw of one `expect`ed batch.
struct Received {
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
  double t_first_ms = 0;
  double t_last_ms = 0;
};

class BenchPeer {
public:
  virtual ~BenchPeer() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  /// Joins `room` of app `app` (room ids are unique across apps in a run); returns the time the
  /// join started. A new app id means a new connection: peers share one per app (spec §9).
  virtual double join(const std::string& app, const std::string& room) = 0;
  /// When the first peer completed the room handshake with us; throws after `timeout`.
  virtual double wait_peer_join(const std::string& room, std::chrono::milliseconds timeout) = 0;
  /// Counts the next `count` messages on `action`; ready to receive when this returns.
  virtual void expect(const std::string& room, const std::string& action, std::uint64_t count) = 0;
  virtual Received wait_received(const std::string& room, const std::string& action,
                                 std::chrono::milliseconds timeout) = 0;
  /// Starts sending `count` binary messages of `size` bytes to every peer of `room`, as fast as
  /// the stack takes them; returns the time sending started (it goes on in the background).
  virtual double start_flood(const std::string& room, const std::string& action,
                             std::uint64_t count, std::size_t size) = 0;
  virtual void leave(const std::string& room) = 0;
};

struct BenchPeerConfig {
  std::string relay_url; // the broker's ws:// URL
};

/// In this process.
std::unique_ptr<BenchPeer> make_posthorn_bench_peer(const BenchPeerConfig& config);
/// In a `posthorn bench room-peer` child process.
std::unique_ptr<BenchPeer> make_posthorn_process_bench_peer(const BenchPeerConfig& config);
/// `script`: path of trystero-room-bench.mjs. Throws if node cannot be started.
std::unique_ptr<BenchPeer> make_trystero_bench_peer(const BenchPeerConfig& config,
                                                    const std::string& node,
                                                    const std::string& script);

/// Wall-clock milliseconds since the Unix epoch.
double epoch_ms();

} // namespace posthorn::cli
