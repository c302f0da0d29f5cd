#pragma once
// Small scriptable endpoints for harness tests and for scenarios that need a dumb party (a
// "server" that echoes, a sender with a fixed schedule). Real scenarios wrap sans-IO cores in
// their own adapters instead; see docs/testing.md.

#include "sim_net.hpp"

#include <deque>
#include <map>
#include <vector>

namespace posthorn::sim {

/// Sends what the test queues (at once or at a virtual time), records what arrives, and can echo
/// every datagram back from the address it arrived on.
class RecordingEndpoint : public Endpoint {
public:
  struct Received {
    TimePoint at;
    SocketAddress local;
    SocketAddress from;
    Bytes payload;
  };

  /// Queued now; leaves at the next drain (the network drains before every step).
  void send(SocketAddress from, SocketAddress to, Bytes payload);
  /// Leaves when the virtual clock reaches `at` (driven by poll_timeout/handle_timeout).
  void send_at(TimePoint at, SocketAddress from, SocketAddress to, Bytes payload);
  void set_echo(bool on) noexcept { echo_ = on; }

  [[nodiscard]] const std::vector<Received>& received() const noexcept { return received_; }
  [[nodiscard]] std::size_t count_from(const SocketAddress& from) const;
  void clear_received() { received_.clear(); }

  void handle_datagram(TimePoint now, const SocketAddress& local, const SocketAddress& from,
                       ByteView data) override;
  void handle_timeout(TimePoint now) override;
  std::optional<Datagram> poll_transmit() override;
  std::optional<TimePoint> poll_timeout() override;

private:
  std::deque<Datagram> outbox_;
  std::map<std::pair<TimePoint, std::uint64_t>, Datagram> scheduled_;
  std::uint64_t seq_ = 0;
  std::vector<Received> received_;
  bool echo_ = false;
};

} // namespace posthorn::sim
