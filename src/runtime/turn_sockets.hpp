#pragma once
// The sockets of one connection's TURN links (see ice/agent.hpp): per link id a UDP socket
// connected to the TURN server, or a TCP connection to it, opened on the first transmit for that
// link from the transmit's local IP. Bytes that arrive are handed to `on_bytes(link, data)`, then
// `on_burst_end()` once per readiness wake-up (the driver flushes there); a TCP connection that
// ends or cannot be made, or ICMP unreachable on a UDP link, is reported by `on_closed(link)`.
//
// Why not the UdpMux sockets: RFC 8656 §2.2 identifies an allocation by the client's 5-tuple, and
// the mux shares its sockets among every connection of a process, so they would all land on one
// allocation (the second Allocate gets 437 Allocation Mismatch). A socket per link costs one file
// descriptor per TURN server per connection, as in browsers.
//
// TCP (RFC 8656 §3.1): the stream carries STUN and ChannelData framed by the TURN client; bytes
// are written in order, coalesced while a write is in flight. The backlog is bounded
// (kMaxTcpBacklog): beyond it whole transmits are dropped and counted, as a full UDP socket
// buffer would drop datagrams.
//
// Threading: every method and callback runs on the executor's thread; callbacks never run inside
// send() and never after destruction.

#include "core/bytes.hpp"
#include "ice/agent.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>

namespace posthorn::runtime {

struct TurnSocketStats {
  std::uint64_t links_opened = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t send_errors = 0;      // UDP send failures (full buffer), sends on closed links
  std::uint64_t dropped_backlog = 0;  // TCP transmits dropped over the backlog bound
  std::uint64_t connect_failures = 0; // TCP connections that could not be made
};

class TurnSockets {
public:
  struct Handlers {
    std::function<void(ice::TurnLinkId, ByteView)> on_bytes;
    std::function<void(ice::TurnLinkId)> on_closed;
    std::function<void()> on_burst_end;
  };

  TurnSockets(boost::asio::any_io_executor executor, Handlers handlers);
  ~TurnSockets();
  TurnSockets(const TurnSockets&) = delete;
  TurnSockets& operator=(const TurnSockets&) = delete;

  /// Sends a transmit whose `turn` is set, opening its link's socket on first use.
  void send(const ice::Transmit& transmit);
  /// Links with an open (or opening) socket.
  [[nodiscard]] std::size_t open_links() const noexcept;
  [[nodiscard]] const TurnSocketStats& stats() const noexcept;

private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

} // namespace posthorn::runtime
