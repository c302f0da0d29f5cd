#pragma once
// UDP sockets for ICE: one socket per local IP address, shared by every connection registered
// with the mux. Incoming datagrams are routed to a connection by remote address; a datagram from
// an address no connection has used yet is routed by the ICE ufrag in its STUN USERNAME
// (RFC 8445 §7.3: "<receiver ufrag>:<sender ufrag>"), which is how a server-style peer serves
// thousands of connections from one port (libjuice calls this ICE mux).
//
// Threading: all methods and callbacks run on the executor's thread (one io_context thread).

#include "core/bytes.hpp"
#include "core/socket_address.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace posthorn::runtime {

struct UdpMuxStats {
  std::uint64_t datagrams_in = 0;
  std::uint64_t datagrams_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t dropped_unroutable = 0;
  std::uint64_t send_errors = 0; // including EWOULDBLOCK when the kernel buffer is full
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
