#pragma once
// The load generator of `posthorn bench relay`: WebTorrent-tracker clients (Trystero's torrent
// strategy's messages, signal/tracker_codec) on tens of thousands of WebSocket connections, all
// driven by one thread and one io_context so that it costs one core and can be pinned to it.
// The WebSocket client is hand-rolled (bench_relay_ws): a read into a per-connection buffer,
// frames parsed in place, replies classified by their first bytes, and precomputed masked frames
// written with one non-blocking send per connection and wake-up — no per-message allocation.
//
// Client i is peer_id "bench-peer-<i:9>" in swarm "bench-swarm-<i / swarm_size:8>" (20
// characters each) and connects from 127.1.0.(1 + i % 64), so that 50 000 connections to one
// port do not run out of ephemeral ports. Every client first announces once without offers
// (Trystero's dormant announce: left 0, no offers) and counts as held once the tracker replied.
//
// Not thread-safe: one object per thread; hooks run on the calling thread, inside the loop.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace posthorn::cli {

struct HoldPlan {
  std::size_t clients = 0;
  std::size_t swarm_size = 10;
  /// Clients between their connect and their reply at once: paces the connects so that the
  /// listen backlog never overflows.
  std::size_t concurrency = 512;
  /// Give up when no client got further for this long (a server that stopped accepting).
  std::chrono::milliseconds stall{5000};
  std::chrono::milliseconds limit{120'000};
};

struct HoldResult {
  std::size_t clients = 0;   ///< attempted
  std::size_t connected = 0; ///< WebSocket upgrade done
  std::size_t held = 0;      ///< got the reply to their announce
  std::size_t failed = 0;    ///< refused, reset, closed, a failure reply, or never answered
  double seconds = 0;        ///< first connect to the last reply
  std::string first_error;
};

/// Cumulative counts of what the clients received and sent.
struct LoadCounts {
  std::uint64_t replies = 0;  ///< announce replies (one per announce the server handled)
  std::uint64_t offers = 0;   ///< offers forwarded to us
  std::uint64_t answers = 0;  ///< answers routed to us
  std::uint64_t failures = 0; ///< failure replies and anything unrecognised
  std::uint64_t announces_sent = 0;
  std::uint64_t answers_sent = 0;
  std::uint64_t lost = 0; ///< held connections that closed or failed later
};

struct ThroughputPlan {
  std::size_t clients = 1000;
  std::size_t swarm_size = 10;
  std::size_t window = 8;        ///< announces in flight per client
  std::size_t offer_bytes = 600; ///< the SDP of the announce's one offer (and of the answer)
  /// Each announce is followed by an answer to the next member of the sender's swarm
  /// (to_peer_id), so that half of what clients send is answers.
  bool answers = false;
  std::chrono::milliseconds warmup{1000};
  std::chrono::milliseconds measure{5000};
};

struct ThroughputResult {
  HoldResult setup;
  LoadCounts counts;     ///< over the measured window only
  double seconds = 0;    ///< the window's wall time
  double load_cpu_s = 0; ///< this process's user+system CPU over the window
  std::string first_failure;
};

class RelayLoad {
public:
  /// Clients of ws://127.0.0.1:`port`.
  explicit RelayLoad(std::uint16_t port);
  ~RelayLoad(); ///< resets every connection (no TIME_WAIT left behind)
  RelayLoad(const RelayLoad&) = delete;
  RelayLoad& operator=(const RelayLoad&) = delete;

  /// Opens plan.clients connections, each announcing once; returns once each has its reply or
  /// failed, or nothing progressed for plan.stall. The held connections stay open.
  HoldResult hold(const HoldPlan& plan);
  /// hold() for plan.clients, then every held client keeps plan.window announces with one offer
  /// (numwant 1) in flight. `window_start` and `window_end` run when the measured window opens
  /// and closes, after the warm-up.
  ThroughputResult throughput(const ThroughputPlan& plan, const std::function<void()>& window_start,
                              const std::function<void()>& window_end);
  /// Held connections still open.
  [[nodiscard]] std::size_t open_connections() const;
  /// Resets every connection now.
  void close_all();

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace posthorn::cli
