#pragma once
// UDP sockets for ICE: one socket per local IP address, shared by every connection registered
// with the mux. Incoming datagrams are routed to a connection by remote address; a datagram from
// an address no connection has used yet is routed by the ICE ufrag in its STUN USERNAME
// (RFC 8445 §7.3: "<receiver ufrag>:<sender ufrag>"), which is how a server-style peer serves
// thousands of connections from one port (libjuice calls this ICE mux).
//
// Threading: all methods and callbacks run on the executor's thread (one io_context thread).
//
// Test hook: when the environment variable POSTHORN_TEST_IMPAIR is set (e.g.
// "delay_ms=50,jitter_ms=5"), every datagram sent through the mux is held back in a bounded queue
// and leaves after the delay (plus a uniform random extra of up to jitter, which reorders). The
// namespace NAT tests use it because the test kernels have no netem qdisc (docs/testing.md,
// "Impairment hook"). It is read once per mux; unset costs one null check per send. It is not a
// feature: never set it outside tests.

#include "core/bytes.hpp"
#include "core/socket_address.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace posthorn::runtime {

struct UdpMuxStats {
  std::uint64_t datagrams_in = 0;
  std::uint64_t datagrams_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t dropped_unroutable = 0;
  std::uint64_t send_errors = 0;    // including EWOULDBLOCK when the kernel buffer is full
  std::uint64_t impair_delayed = 0; // test hook only: datagrams held back by POSTHORN_TEST_IMPAIR
  std::uint64_t impair_dropped = 0; // test hook only: dropped because its queue was full
};

/// The parsed POSTHORN_TEST_IMPAIR value (see above). Test hook, not a feature.
struct UdpImpairment {
  std::chrono::microseconds delay{0};
  std::chrono::microseconds jitter{0}; // uniform extra delay in [0, jitter]; reorders datagrams
  std::size_t queue_bytes = 32 << 20;  // bytes held at most; beyond, datagrams are dropped
  /// Parses "delay_ms=50,jitter_ms=5,queue_kib=32768" (keys optional, any order). Throws
  /// std::invalid_argument naming the bad part: a test must not silently run unimpaired.
  static UdpImpairment parse(std::string_view spec);
  /// From POSTHORN_TEST_IMPAIR, or nullopt when it is unset or empty.
  static std::optional<UdpImpairment> from_environment();
};

class UdpMux {
public:
  using Receiver =
      std::function<void(const SocketAddress& local, const SocketAddress& remote, ByteView data)>;
  using ConnectionKey = std::uint64_t;

  /// Binds one UDP socket per address (port 0 = ephemeral). Throws on bind failure: this is a
  /// configuration error at startup, not remote input.
  UdpMux(boost::asio::any_io_executor executor, const std::vector<IpAddress>& bind_addresses,
         std::uint16_t port = 0);
  ~UdpMux();
  UdpMux(const UdpMux&) = delete;
  UdpMux& operator=(const UdpMux&) = delete;

  [[nodiscard]] std::vector<SocketAddress> local_addresses() const;

  /// Registers a connection identified by its local ICE ufrag. `burst_end` runs once after each
  /// batch of datagrams delivered to this connection (drivers flush there, so that the replies
  /// to a burst go out in one sendmmsg). Returns a key for send/remove.
  ConnectionKey add_connection(std::string local_ufrag, Receiver receiver,
                               std::function<void()> burst_end = {});
  /// The connection changed ufrag (ICE restart).
  void set_ufrag(ConnectionKey key, std::string local_ufrag);
  void remove_connection(ConnectionKey key);

  struct Outgoing {
    const SocketAddress* local;
    const SocketAddress* remote;
    ByteView data;
  };
  /// Sends immediately (non-blocking). Learns the route remote → connection.
  void send(ConnectionKey key, const SocketAddress& local, const SocketAddress& remote,
            ByteView data);
  /// Sends a batch with as few system calls as possible (sendmmsg per local socket).
  void send_many(ConnectionKey key, std::span<const Outgoing> datagrams);

  [[nodiscard]] const UdpMuxStats& stats() const noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace posthorn::runtime
